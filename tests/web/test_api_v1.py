"""The MiroTalk-compatible REST API under /api/v1, against a fake media gateway."""

import json
from contextlib import contextmanager, suppress
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from parley.app import create_app
from parley.config import load_settings
from tests.support.live import free_port, live_parley
from tests.web.conftest import TOKEN
from tests.web.test_openapi import build_settings

SECRET = "s3cret-for-api-tests-0123456789"
AUTH = {"authorization": SECRET}


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        environ={
            "PARLEY_MATTERMOST_TOKENS": TOKEN,
            "PARLEY_DATA_DIR": str(tmp_path),
            "PARLEY_API_SECRET": SECRET,
            "PARLEY_API_MEETINGS_LIST": "true",
        }
    )


@contextmanager
def leaving(socket):
    """Enter the socket; on the way out send `leave`, as the page does, then close.

    Without `leave`, the server side of a test client's socket notices the close
    only at shutdown, and stopping the app while that socket leaves its room can
    hang the test client.
    """
    with socket:
        yield socket
        with suppress(WebSocketDisconnect, RuntimeError):
            socket.send_json({"type": "leave"})


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """An HTTP client of Parley on a loopback port, for tests that keep a socket
    open while they call the API: the test client cannot shut down reliably then."""
    port = free_port()
    settings = build_settings(tmp_path_factory.mktemp("live"), port)
    with (
        live_parley(settings, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
    ):
        yield http


@contextmanager
def live_join(link, name="Someone"):
    """Join through the link's signaling socket; yield the socket and the reply."""
    parts = urlsplit(link)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    frame = {"type": "join", "name": query.get("name", name)}
    frame.update({k: query[k] for k in ("password", "token") if k in query})
    with connect(f"ws://{parts.netloc}{parts.path}/signal") as socket:
        socket.send(json.dumps(frame))
        yield socket, json.loads(socket.recv(timeout=5))
        with suppress(ConnectionClosed):
            socket.send(json.dumps({"type": "leave"}))


def join_frame(client, url, **extra):
    """Open the link's signaling socket and send `join` as the page would."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    socket = client.websocket_connect(f"{parts.path}/signal")
    frame = {"type": "join", "name": query.get("name", "Someone")}
    for key in ("password", "token"):
        if key in query:
            frame[key] = query[key]
    frame.update(extra)
    return socket, frame


def test_meeting_returns_link_to_open_room(client, gateway):
    response = client.post("/api/v1/meeting", headers=AUTH)

    assert response.status_code == 200
    link = response.json()["meeting"]
    assert link.startswith("http://127.0.0.1:8080/join/meeting-")
    assert client.get(urlsplit(link).path).status_code == 200
    assert len(gateway.rooms) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "wrong-secret"},
        {"authorization": f"Bearer {SECRET}"},
        {"authorization": SECRET + " "},
    ],
)
def test_meeting_bad_secret_creates_nothing(client, gateway, headers):
    response = client.post("/api/v1/meeting", headers=headers)

    assert response.status_code == 403
    assert response.json() == {"error": "Unauthorized!"}
    assert gateway.rooms == {}
    assert client.get("/healthz").json()["meetings"] == 0


def test_join_with_bad_secret_creates_no_room(client, gateway):
    response = client.post(
        "/api/v1/join", headers={"authorization": "nope"}, json={"room": "standup"}
    )

    assert response.status_code == 403
    assert gateway.rooms == {}
    assert client.get("/join/standup").status_code == 404


def test_bad_secret_is_refused_before_body_is_read(client):
    response = client.post(
        "/api/v1/join",
        headers={"authorization": "nope", "content-type": "application/json"},
        content=b"{not json",
    )

    assert response.status_code == 403


def test_api_without_secret_configured_is_off(tmp_path, gateway):
    settings = load_settings(environ={"PARLEY_DATA_DIR": str(tmp_path)})
    with TestClient(create_app(settings, gateway=gateway)) as client:
        response = client.post("/api/v1/meeting", headers={"authorization": ""})

    assert response.status_code == 403
    assert "PARLEY_API_SECRET" in response.json()["error"]
    assert gateway.rooms == {}


def test_failed_attempts_are_limited_per_address(client):
    for _ in range(10):
        assert (
            client.get("/api/v1/stats", headers={"authorization": "x"}).status_code
            == 403
        )

    limited = client.get("/api/v1/stats", headers=AUTH)

    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many" in limited.json()["error"]


def test_join_named_room_returns_link_with_options(client):
    response = client.post(
        "/api/v1/join",
        headers=AUTH,
        json={"room": "weekly_sync-1", "name": "Ada  L", "audio": True, "video": False},
    )

    assert response.status_code == 200
    link = urlsplit(response.json()["join"])
    assert link.path == "/join/weekly_sync-1"
    assert parse_qs(link.query) == {"name": ["Ada L"], "audio": ["1"], "video": ["0"]}
    assert client.get(link.path).status_code == 200


def test_join_accepts_mirotalk_string_booleans(client):
    body = {
        "room": "test",
        "roomPassword": "false",
        "name": "mirotalksfu",
        "avatar": "false",
        "audio": "false",
        "video": "true",
        "screen": "false",
        "chat": "false",
        "hide": "false",
        "notify": "true",
        "duration": "unlimited",
    }

    response = client.post("/api/v1/join", headers=AUTH, json=body)

    assert response.status_code == 200
    query = parse_qs(urlsplit(response.json()["join"]).query)
    assert query["audio"] == ["0"]
    assert query["video"] == ["1"]
    assert "password" not in query


def test_join_twice_uses_same_room(client, gateway):
    first = client.post("/api/v1/join", headers=AUTH, json={"room": "daily"})
    second = client.post("/api/v1/join", headers=AUTH, json={"room": "daily"})

    assert urlsplit(first.json()["join"]).path == urlsplit(second.json()["join"]).path
    assert len(gateway.rooms) == 1


def test_join_without_room_creates_random_room(client, gateway):
    response = client.post("/api/v1/join", headers=AUTH)

    assert response.status_code == 200
    assert urlsplit(response.json()["join"]).path.startswith("/join/meeting-")
    assert len(gateway.rooms) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"room": "has space"}, "room"),
        ({"room": "x" * 65}, "room"),
        ({"room": ""}, "room"),
        ({"room": "ü"}, "room"),
        ({"duration": "1:00"}, "duration"),
        ({"duration": "00:00:00"}, "duration"),
        ({"duration": "01:60:00"}, "duration"),
        ({"roomPassword": True}, "roomPassword"),
        ({"audio": "maybe"}, "audio"),
        ({"name": "n" * 65}, "name"),
        ({"token": {"expire": "soon"}}, "expire"),
        ({"token": {"expire": 0}}, "expire"),
    ],
)
def test_join_with_bad_field_is_422_naming_it(client, gateway, body, field):
    response = client.post("/api/v1/join", headers=AUTH, json=body)

    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(field in location for location in locations), locations
    assert gateway.rooms == {}


def test_join_password_link_admits(client):
    link = client.post(
        "/api/v1/join",
        headers=AUTH,
        json={"room": "locked", "roomPassword": "open sesame", "name": "Ada"},
    ).json()["join"]
    assert parse_qs(urlsplit(link).query)["password"] == ["open sesame"]

    socket, frame = join_frame(client, link)
    with leaving(socket):
        socket.send_json(frame)
        assert socket.receive_json()["type"] == "joined"

    socket, frame = join_frame(client, "http://x/join/locked")
    with leaving(socket):
        socket.send_json(frame)
        error = socket.receive_json()
        assert error["code"] == "password_required"
        socket.send_json({**frame, "password": "guess"})
        assert socket.receive_json()["code"] == "password_invalid"


def test_five_wrong_passwords_close_the_socket(client):
    client.post(
        "/api/v1/join", headers=AUTH, json={"room": "vault", "roomPassword": "pw"}
    )

    socket, frame = join_frame(client, "http://x/join/vault", password="bad")
    with leaving(socket):
        codes = []
        for _ in range(5):
            socket.send_json(frame)
            codes.append(socket.receive_json())
    assert [c["code"] for c in codes[:4]] == ["password_invalid"] * 4
    assert codes[4]["code"] == "too_many_attempts"
    assert codes[4]["fatal"] is True


def test_join_token_admits_without_password(live):
    link = live.post(
        "/api/v1/join",
        headers=AUTH,
        json={
            "room": "board",
            "roomPassword": "pw",
            "token": {"username": "ada", "presenter": True, "expire": "1h"},
        },
    ).json()["join"]
    query = parse_qs(urlsplit(link).query)
    assert "password" not in query
    assert query["name"] == ["ada"]

    with live_join(link) as (socket, joined):
        assert joined["type"] == "joined"
        meetings = live.get("/api/v1/meetings", headers=AUTH).json()["meetings"]
    peers = next(m["peers"] for m in meetings if m["roomId"] == "board")
    assert peers[0]["presenter"] is True


def test_expired_token_admits_no_one(client):
    link = client.post(
        "/api/v1/join",
        headers=AUTH,
        json={"room": "brief", "token": {"username": "ada", "expire": "1ms"}},
    ).json()["join"]

    socket, frame = join_frame(client, link)
    with leaving(socket):
        socket.send_json(frame)
        error = socket.receive_json()
    assert error["code"] == "token_expired"
    assert error["fatal"] is True


def test_token_for_another_room_is_invalid(client):
    link = client.post(
        "/api/v1/join", headers=AUTH, json={"room": "one", "token": {}}
    ).json()["join"]
    token = parse_qs(urlsplit(link).query)["token"][0]
    client.post("/api/v1/join", headers=AUTH, json={"room": "two"})

    socket, frame = join_frame(client, "http://x/join/two", token=token)
    with leaving(socket):
        socket.send_json(frame)
        assert socket.receive_json()["code"] == "token_invalid"


def test_token_endpoint_token_admits_to_any_room(client):
    response = client.post(
        "/api/v1/token", headers=AUTH, json={"username": "bob", "expire": 3600}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert token.count(".") == 2
    client.post("/api/v1/join", headers=AUTH, json={"room": "any", "roomPassword": "p"})

    socket, frame = join_frame(client, "http://x/join/any", token=token)
    with leaving(socket):
        socket.send_json(frame)
        assert socket.receive_json()["type"] == "joined"


def test_tampered_token_is_invalid(client):
    token = client.post("/api/v1/token", headers=AUTH).json()["token"]
    header, payload, signature = token.split(".")
    client.post("/api/v1/join", headers=AUTH, json={"room": "t"})

    socket, frame = join_frame(
        client, "http://x/join/t", token=f"{header}.{payload}x.{signature}"
    )
    with leaving(socket):
        socket.send_json(frame)
        assert socket.receive_json()["code"] == "token_invalid"


def test_token_with_bad_expire_is_422(client):
    response = client.post("/api/v1/token", headers=AUTH, json={"expire": "2 eons"})

    assert response.status_code == 422
    assert "expire" in response.json()["detail"][0]["loc"]


def test_duration_ends_meeting_for_everyone(client):
    link = client.post(
        "/api/v1/join", headers=AUTH, json={"room": "short", "duration": "00:00:01"}
    ).json()["join"]

    socket, frame = join_frame(client, link)
    with leaving(socket):
        socket.send_json(frame)
        assert socket.receive_json()["type"] == "joined"
        ended = socket.receive_json()  # sent by the server's timer after 1 s
    assert ended == {"type": "room_ended", "reason": "time_up"}
    assert client.get("/join/short").status_code == 410


def test_stats_and_active_rooms_count_participants(live):
    link = live.post("/api/v1/join", headers=AUTH, json={"room": "busy"}).json()["join"]

    with live_join(link):
        stats = live.get("/api/v1/stats", headers=AUTH).json()
        active = live.get("/api/v1/activeRooms", headers=AUTH).json()

    assert stats["success"] is True
    assert stats["totalRooms"] == 1
    assert stats["totalUsers"] == 1
    assert stats["totalPeers"] == 1
    assert stats["timestamp"].endswith("Z")
    assert active == {
        "activeRooms": [
            {"id": "busy", "peers": 1, "join": f"{live.base_url}/join/busy"}
        ]
    }


def test_meetings_list_shows_peers(live):
    link = live.post(
        "/api/v1/join", headers=AUTH, json={"room": "peers", "name": "Ada"}
    ).json()["join"]

    with live_join(link):
        meetings = live.get("/api/v1/meetings", headers=AUTH).json()["meetings"]

    peers = next(m["peers"] for m in meetings if m["roomId"] == "peers")
    assert peers[0]["name"] == "Ada"
    assert peers[0]["presenter"] is False


def test_meetings_list_is_off_by_default(tmp_path, gateway):
    settings = load_settings(
        environ={"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_API_SECRET": SECRET}
    )
    with TestClient(create_app(settings, gateway=gateway)) as client:
        response = client.get("/api/v1/meetings", headers=AUTH)

    assert response.status_code == 403
    assert "PARLEY_API_MEETINGS_LIST" in response.json()["error"]


def test_end_meeting_ends_it_for_everyone(live):
    link = live.post("/api/v1/join", headers=AUTH, json={"room": "ending"}).json()[
        "join"
    ]

    with live_join(link) as (socket, _):
        response = live.delete("/api/v1/meeting/ending", headers=AUTH)
        ended = json.loads(socket.recv(timeout=5))

    assert ended == {"type": "room_ended", "reason": "ended"}
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Meeting ended",
        "error": None,
        "room": "ending",
    }
    assert live.get("/join/ending").status_code == 410


def test_end_unknown_meeting_is_404(client):
    response = client.delete("/api/v1/meeting/nowhere", headers=AUTH)

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Room not found"}


def test_end_meeting_with_bad_secret_leaves_it_open(client):
    client.post("/api/v1/join", headers=AUTH, json={"room": "stays"})

    response = client.delete("/api/v1/meeting/stays", headers={"authorization": "x"})

    assert response.status_code == 403
    assert client.get("/join/stays").status_code == 200


def test_ended_room_name_can_be_used_again(client, gateway):
    client.post("/api/v1/join", headers=AUTH, json={"room": "again"})
    client.delete("/api/v1/meeting/again", headers=AUTH)

    response = client.post("/api/v1/join", headers=AUTH, json={"room": "again"})

    assert response.status_code == 200
    assert client.get("/join/again").status_code == 200
    assert len(gateway.created) == 2
