"""Parley's own REST API under /api/parley/v1, against a fake media gateway."""

import json

import pytest
from fastapi.testclient import TestClient

from parley.app import create_app
from parley.config import load_settings
from tests.web.conftest import TOKEN
from tests.web.test_api_v1 import leaving, live, live_join  # noqa: F401
from tests.web.test_openapi import SECRET as SECRET_LIVE

SECRET = "s3cret-for-api-tests-0123456789"
AUTH = {"authorization": f"Bearer {SECRET}"}
BASE = "/api/parley/v1"


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        environ={
            "PARLEY_MATTERMOST_TOKENS": TOKEN,
            "PARLEY_DATA_DIR": str(tmp_path),
            "PARLEY_API_SECRET": SECRET,
        }
    )


def test_create_meeting_returns_201_with_details(client, gateway):
    response = client.post(
        f"{BASE}/meetings",
        headers=AUTH,
        json={"title": "Weekly sync", "room": "weekly", "duration": "00:30:00"},
    )

    assert response.status_code == 201
    meeting = response.json()
    assert meeting["room"] == "weekly"
    assert meeting["title"] == "Weekly sync"
    assert meeting["url"] == "http://127.0.0.1:8080/join/weekly"
    assert meeting["state"] == "open"
    assert meeting["duration"] == "00:30:00"
    assert meeting["started_at"] is None
    assert meeting["password_protected"] is False
    assert meeting["created_by"] == "api"
    assert meeting["participants"] == []
    assert len(gateway.rooms) == 1


def test_create_meeting_without_room_gets_unguessable_slug(client):
    response = client.post(f"{BASE}/meetings", headers=AUTH, json={"title": "Demo"})

    assert response.status_code == 201
    assert response.json()["room"].startswith("demo-")
    assert len(response.json()["room"]) > 20


def test_create_meeting_with_taken_room_is_409(client, gateway):
    client.post(f"{BASE}/meetings", headers=AUTH, json={"room": "taken"})

    response = client.post(f"{BASE}/meetings", headers=AUTH, json={"room": "taken"})

    assert response.status_code == 409
    assert response.json()["error"] == "room_taken"
    assert len(gateway.rooms) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"room": "no spaces"}, "room"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"password": ""}, "password"),
        ({"duration": "forever"}, "duration"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_create_bad_field_named_in_422(client, gateway, body, field):
    response = client.post(f"{BASE}/meetings", headers=AUTH, json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert gateway.rooms == {}


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": SECRET}, {"authorization": "Bearer wrong"}],
)
def test_bad_secret_is_401_and_creates_nothing(client, gateway, headers):
    response = client.post(f"{BASE}/meetings", headers=headers, json={})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_secret"
    assert response.headers["www-authenticate"] == "Bearer"
    assert gateway.rooms == {}


def test_api_without_secret_is_503(tmp_path, gateway):
    settings = load_settings(environ={"PARLEY_DATA_DIR": str(tmp_path)})
    with TestClient(create_app(settings, gateway=gateway)) as client:
        response = client.get(f"{BASE}/meetings", headers=AUTH)

    assert response.status_code == 503
    assert response.json()["error"] == "not_configured"


def test_show_meeting_lists_participants_and_times(live):  # noqa: F811
    bearer = {"authorization": f"Bearer {SECRET_LIVE}"}
    live.post(f"{BASE}/meetings", headers=bearer, json={"room": "shown"})

    with live_join(f"{live.base_url}/join/shown", name="Ada") as (socket, _):
        # Frames are handled in order, so this reply means the join was stored.
        socket.send(json.dumps({"type": "media", "audio": True, "video": True}))
        socket.recv(timeout=5)
        shown = live.get(f"{BASE}/meetings/shown", headers=bearer).json()

    assert shown["title"] == "Meeting"
    assert shown["created_by"] == "api"
    assert shown["channel"] is None
    assert shown["live_participants"] == 1
    assert shown["started_at"] is not None
    assert [p["name"] for p in shown["participants"]] == ["Ada"]
    assert shown["participants"][0]["left_at"] is None


def test_show_meeting_from_slash_command_has_channel(client, slug):
    shown = client.get(f"{BASE}/meetings/{slug}", headers=AUTH).json()

    assert shown["title"] == "standup"
    assert shown["created_by"] == "bob"
    assert shown["live_participants"] == 0
    assert shown["started_at"] is None
    assert shown["participants"] == []


def test_show_unknown_meeting_is_404(client):
    response = client.get(f"{BASE}/meetings/nowhere", headers=AUTH)

    assert response.status_code == 404
    assert response.json() == {
        "error": "room_not_found",
        "message": "No meeting has room 'nowhere'.",
    }


def test_show_with_invalid_room_is_422(client):
    response = client.get(f"{BASE}/meetings/bad.name", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "room"]


def test_list_meetings_filters_by_state(client):
    client.post(f"{BASE}/meetings", headers=AUTH, json={"room": "a"})
    client.post(f"{BASE}/meetings", headers=AUTH, json={"room": "b"})
    client.delete(f"{BASE}/meetings/a", headers=AUTH)

    everything = client.get(f"{BASE}/meetings", headers=AUTH).json()["meetings"]
    open_only = client.get(
        f"{BASE}/meetings", headers=AUTH, params={"state": "open"}
    ).json()["meetings"]

    assert sorted(m["room"] for m in everything) == ["a", "b"]
    assert [m["room"] for m in open_only] == ["b"]


def test_list_with_bad_limit_is_422(client):
    response = client.get(f"{BASE}/meetings", headers=AUTH, params={"limit": 0})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_end_meeting_ends_it_and_reports_times(client, gateway):
    client.post(f"{BASE}/meetings", headers=AUTH, json={"room": "done"})

    response = client.delete(f"{BASE}/meetings/done", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["state"] == "ended"
    assert response.json()["ended_at"] is not None
    assert gateway.rooms == {}
    assert client.get("/join/done").status_code == 410


def test_end_ended_meeting_is_409(client):
    client.post(f"{BASE}/meetings", headers=AUTH, json={"room": "twice"})
    client.delete(f"{BASE}/meetings/twice", headers=AUTH)

    response = client.delete(f"{BASE}/meetings/twice", headers=AUTH)

    assert response.status_code == 409
    assert response.json()["error"] == "meeting_ended"


def test_end_unknown_meeting_is_404(client):
    response = client.delete(f"{BASE}/meetings/ghost", headers=AUTH)

    assert response.status_code == 404


def test_password_set_at_creation_protects_room(client):
    client.post(
        f"{BASE}/meetings", headers=AUTH, json={"room": "safe", "password": "pw"}
    )

    with leaving(client.websocket_connect("/join/safe/signal")) as socket:
        socket.send_json({"type": "join", "name": "Eve"})
        assert socket.receive_json()["code"] == "password_required"
        socket.send_json({"type": "join", "name": "Eve", "password": "pw"})
        assert socket.receive_json()["type"] == "joined"
