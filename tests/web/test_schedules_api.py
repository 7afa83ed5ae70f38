"""Scheduled meetings through /api/parley/v1/schedules.

The bot points at a closed loopback port, so its posts wait in the outbox, where the
tests read them. tests/web/test_openapi.py runs schemathesis on these endpoints too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from parley.app import create_app
from parley.config import load_settings
from parley.storage.models import OutboxRow
from tests.support.fakes import FakeClock, FakeMediaGateway
from tests.web.test_calendar_endpoints import (
    CHANNEL,
    NOW,
    OTHER_CHANNEL,
    PUBLIC_URL,
    SECRET,
    bot_environ,
)

AUTH = {"authorization": f"Bearer {SECRET}"}
SCHEDULES = "/api/parley/v1/schedules"


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def client(tmp_path, clock):
    settings = load_settings(environ=bot_environ(tmp_path))
    app = create_app(settings, gateway=FakeMediaGateway(), clock=clock)
    with TestClient(app) as client:
        yield client


def create(client, **body):
    return client.post(SCHEDULES, headers=AUTH, json={"channel_id": CHANNEL, **body})


def outbox(client) -> list[OutboxRow]:
    engine = client.app.state.parley.engine

    async def rows() -> list[OutboxRow]:
        async with engine.connect() as connection:
            result = await connection.execute(select(OutboxRow).order_by(OutboxRow.id))
            return list(result)

    return client.portal.call(rows)


def listed(client, **params) -> list[dict]:
    response = client.get(SCHEDULES, headers=AUTH, params=params)
    assert response.status_code == 200
    return response.json()["schedules"]


def test_create_from_when_returns_201(client):
    response = create(
        client, title="Standup", when="tomorrow 9:30", timezone="Europe/Berlin"
    )

    assert response.status_code == 201
    meeting = response.json()
    assert meeting["title"] == "Standup"
    assert meeting["channel_id"] == CHANNEL
    assert meeting["timezone"] == "Europe/Berlin"
    assert meeting["first_start"] == "2027-01-16T08:30:00Z"
    assert meeting["next_start"] == "2027-01-16T08:30:00Z"
    assert meeting["rrule"] is None
    assert meeting["remind_minutes"] == 10
    assert meeting["remind_seconds"] == 600
    assert meeting["state"] == "scheduled"
    assert meeting["organiser"] is None
    assert len(meeting["id"]) == 32
    assert len(meeting["short_id"]) == 6
    assert meeting["calendar_url"] == f"{PUBLIC_URL}/calendar/{meeting['id']}.ics"


def test_create_queues_announcement_and_wakes_scheduler(client, monkeypatch):
    scheduler = client.app.state.parley.commands.schedules.scheduler
    wakes = []
    monkeypatch.setattr(scheduler, "wake", lambda: wakes.append(True))

    meeting = create(client, title="Standup", when="tomorrow 9:30").json()

    rows = [
        row for row in outbox(client) if row.post_key == f"schedule:{meeting['id']}"
    ]
    assert [row.action for row in rows] == ["create"]
    assert rows[0].channel_id == CHANNEL
    assert "Standup" in json.loads(rows[0].body)["message"]
    assert wakes == [True]


def test_create_reads_title_and_options_in_when(client):
    response = create(
        client,
        when="tomorrow 9:30 standup --remind 5m @alice",
        organiser="bob",
        invitees=["Carol", "alice"],
    )

    meeting = response.json()
    assert response.status_code == 201
    assert meeting["title"] == "standup"
    assert meeting["remind_minutes"] == 5
    assert meeting["invitees"] == ["alice", "carol"]
    assert meeting["organiser"] == "bob"


def test_create_recurring_from_when(client):
    meeting = create(
        client, title="Sync", when="every monday 10:00", timezone="Europe/Berlin"
    ).json()

    assert meeting["rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    assert meeting["first_start"] == "2027-01-18T09:00:00Z"


def test_create_uses_default_timezone(tmp_path, clock):
    environ = bot_environ(tmp_path, PARLEY_DEFAULT_TIMEZONE="Asia/Shanghai")
    app = create_app(
        load_settings(environ=environ), gateway=FakeMediaGateway(), clock=clock
    )
    with TestClient(app) as client:
        meeting = create(client, title="Standup", when="tomorrow 9:30").json()

    assert meeting["timezone"] == "Asia/Shanghai"
    assert meeting["first_start"] == "2027-01-16T01:30:00Z"


def test_create_from_start_cuts_to_minute(client):
    response = create(client, title="Review", start="2027-01-20T14:15:42.5+01:00")

    meeting = response.json()
    assert response.status_code == 201
    assert meeting["first_start"] == "2027-01-20T13:15:00Z"
    assert meeting["rrule"] is None
    assert meeting["timezone"] == "UTC"
    assert meeting["title"] == "Review"


def test_create_from_start_with_every(client):
    # Friday 10:00 in Berlin; the first Monday or Wednesday at or after it.
    response = create(
        client,
        title="Sync",
        start="2027-01-15T10:00:00+01:00",
        every=["wednesday", "monday"],
        timezone="Europe/Berlin",
        remind_minutes=0,
    )

    meeting = response.json()
    assert response.status_code == 201
    assert meeting["rrule"] == "FREQ=WEEKLY;BYDAY=MO,WE"
    assert meeting["first_start"] == "2027-01-18T09:00:00Z"
    assert meeting["remind_minutes"] == 0


def test_start_on_listed_day_is_first(client):
    meeting = create(
        client,
        start="2027-01-18T10:00:00+01:00",
        every=["monday"],
        timezone="Europe/Berlin",
    ).json()

    assert meeting["first_start"] == "2027-01-18T09:00:00Z"
    assert meeting["title"] == "Meeting"


def test_unparseable_when_is_422_with_message(client):
    response = create(client, title="Standup", when="whenever we like")

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "when"]
    assert error["msg"] == "No date or time at the start of 'whenever we like'."
    assert error["type"] == "schedule_unparseable"
    assert listed(client) == []


def test_when_in_the_past_is_422_with_message(client):
    response = create(client, title="Standup", when="today 8:00")

    error = response.json()["detail"][0]
    assert response.status_code == 422
    assert error["loc"] == ["body", "when"]
    assert "has passed" in error["msg"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"when": "tomorrow 9:30", "start": "2027-01-20T10:00:00Z"}, "when"),
        ({"title": "No time"}, "when"),
        ({"when": "tomorrow 9:30", "every": ["monday"]}, "every"),
        ({"when": "tomorrow 9:30 standup", "title": "Standup"}, "title"),
        ({"when": "tomorrow 9:30 --remind 5", "remind_minutes": 5}, "remind_minutes"),
        ({"when": "tomorrow 9:30 " + "t" * 201}, "when"),
        ({"start": "2027-01-15T08:00:00Z"}, "start"),
        ({"start": "2028-02-01T08:00:00Z"}, "start"),
        ({"start": "2027-01-20T10:00:00"}, "start"),
        ({"start": "2027-01-20T10:00:00Z", "every": []}, "every"),
        ({"start": "9999-12-31T23:59:00+00:00", "every": ["monday"]}, "start"),
        (
            {
                "start": "9999-12-31T23:59:00-12:00",
                "every": ["friday"],
                "timezone": "Pacific/Kiritimati",
            },
            "start",
        ),
        ({"start": "0001-01-01T00:00:00+14:00"}, "start"),
        ({"start": "0001-01-01T00:00:00+00:00", "every": ["monday"]}, "start"),
        (
            {
                "start": "0001-01-01T00:00:00+00:00",
                "every": ["monday"],
                "timezone": "America/New_York",
            },
            "start",
        ),
        ({"start": "2027-01-20T10:00:00Z", "every": ["someday"]}, "every"),
        ({"when": "tomorrow 9:30", "timezone": "Mars/Olympus"}, "timezone"),
        ({"when": "tomorrow 9:30", "timezone": "../../etc/passwd"}, "timezone"),
        (
            {"when": "tomorrow 9:30", "remind_minutes": 7 * 24 * 60 + 1},
            "remind_minutes",
        ),
        ({"when": "tomorrow 9:30", "organiser": "@bob"}, "organiser"),
        ({"when": "tomorrow 9:30", "invitees": ["not a name"]}, "invitees"),
        ({"when": "tomorrow 9:30", "colour": "red"}, "colour"),
        ({"when": ""}, "when"),
    ],
)
def test_create_bad_field_named_in_422(client, body, field):
    response = create(client, **body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert listed(client) == []


@pytest.mark.parametrize("channel_id", ["general", CHANNEL.upper(), CHANNEL + "x"])
def test_create_bad_channel_is_422(client, channel_id):
    response = client.post(
        SCHEDULES,
        headers=AUTH,
        json={"channel_id": channel_id, "when": "tomorrow 9:30"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "channel_id"]


def test_list_filters_by_channel_and_state(client):
    first = create(client, title="First", when="tomorrow 9:30").json()
    second = create(client, title="Second", when="tomorrow 10:30").json()
    client.post(
        SCHEDULES,
        headers=AUTH,
        json={"channel_id": OTHER_CHANNEL, "title": "Other", "when": "tomorrow 8:45"},
    )
    client.delete(f"{SCHEDULES}/{first['short_id']}", headers=AUTH)

    everything = [m["title"] for m in listed(client)]
    in_channel = [m["title"] for m in listed(client, channel_id=CHANNEL)]
    scheduled = [
        m["title"] for m in listed(client, channel_id=CHANNEL, state="scheduled")
    ]
    cancelled = [m["short_id"] for m in listed(client, state="cancelled")]

    assert everything == ["Other", "First", "Second"]
    assert in_channel == ["First", "Second"]
    assert scheduled == ["Second"]
    assert cancelled == [first["short_id"]]
    assert second["short_id"] not in cancelled


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "over"}, "state"),
        ({"limit": 0}, "limit"),
        ({"channel_id": "x"}, "channel_id"),
    ],
)
def test_list_bad_query_is_422(client, params, field):
    response = client.get(SCHEDULES, headers=AUTH, params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_show_returns_the_meeting(client):
    created = create(client, title="Standup", when="tomorrow 9:30").json()

    response = client.get(f"{SCHEDULES}/{created['short_id']}", headers=AUTH)

    assert response.status_code == 200
    assert response.json() == created


def test_show_unknown_is_404(client):
    response = client.get(f"{SCHEDULES}/zzzzzz", headers=AUTH)

    assert response.status_code == 404
    assert response.json() == {
        "error": "schedule_not_found",
        "message": "No scheduled meeting has the id 'zzzzzz'.",
    }


def test_show_invalid_id_is_422(client):
    response = client.get(f"{SCHEDULES}/Not-An-Id", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "short_id"]


def test_cancel_cancels_and_updates_announcement(client):
    created = create(client, title="Standup", when="tomorrow 9:30").json()

    response = client.delete(f"{SCHEDULES}/{created['short_id']}", headers=AUTH)

    cancelled = response.json()
    assert response.status_code == 200
    assert cancelled["state"] == "cancelled"
    assert cancelled["cancelled_at"] == "2027-01-15T09:00:00Z"
    rows = [
        row for row in outbox(client) if row.post_key == f"schedule:{created['id']}"
    ]
    assert [row.action for row in rows] == ["create", "patch"]
    assert json.loads(rows[1].body)["message"] == "~~Standup~~ was cancelled by @api."
    calendar = client.get(f"/calendar/{created['id']}.ics")
    assert b"STATUS:CANCELLED" in calendar.content


def test_cancel_twice_is_409(client):
    created = create(client, title="Standup", when="tomorrow 9:30").json()
    client.delete(f"{SCHEDULES}/{created['short_id']}", headers=AUTH)

    response = client.delete(f"{SCHEDULES}/{created['short_id']}", headers=AUTH)

    assert response.status_code == 409
    assert response.json()["error"] == "not_scheduled"
    assert "is cancelled" in response.json()["message"]
    patches = [row for row in outbox(client) if row.action == "patch"]
    assert len(patches) == 1


def test_cancel_finished_meeting_is_409(client, clock):
    created = create(
        client, title="Standup", when="tomorrow 9:30", remind_minutes=0
    ).json()
    scheduler = client.app.state.parley.scheduler
    # Stop its task so that the pass below is the only one, and finishes first.
    client.portal.call(scheduler.stop)
    clock.current = datetime(2027, 1, 16, 9, 31, tzinfo=UTC)
    assert client.portal.call(scheduler.run_due) == 1
    shown = client.get(f"{SCHEDULES}/{created['short_id']}", headers=AUTH).json()
    assert shown["state"] == "finished"

    response = client.delete(f"{SCHEDULES}/{created['short_id']}", headers=AUTH)

    assert response.status_code == 409
    assert "is finished" in response.json()["message"]


def test_cancel_unknown_is_404(client):
    response = client.delete(f"{SCHEDULES}/zzzzzz", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"] == "schedule_not_found"


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": SECRET}, {"authorization": "Bearer wrong"}]
)
def test_bad_secret_is_401_and_schedules_nothing(client, headers):
    response = client.post(
        SCHEDULES,
        headers=headers,
        json={"channel_id": CHANNEL, "when": "tomorrow 9:30"},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_secret"
    assert listed(client) == []
    assert outbox(client) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", SCHEDULES, {"channel_id": CHANNEL, "when": "tomorrow 9:30"}),
        ("POST", SCHEDULES, {"colour": "red"}),
        ("GET", SCHEDULES, None),
        ("GET", f"{SCHEDULES}/k3x9qa", None),
        ("DELETE", f"{SCHEDULES}/k3x9qa", None),
    ],
)
def test_without_bot_is_503(tmp_path, method, path, body):
    environ = {"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_API_SECRET": SECRET}
    app = create_app(load_settings(environ=environ), gateway=FakeMediaGateway())
    with TestClient(app) as client:
        response = client.request(method, path, headers=AUTH, json=body)

    assert response.status_code == 503
    assert response.json()["error"] == "bot_not_configured"
    assert "PARLEY_MATTERMOST_URL" in response.json()["message"]


def test_channel_the_bot_cannot_post_in_is_422(client, monkeypatch):
    bot = client.app.state.parley.commands.schedules.bot

    async def cannot_post(channel_id):
        return False

    monkeypatch.setattr(bot, "can_post", cannot_post)

    response = create(client, title="Standup", when="tomorrow 9:30")

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "channel_id"]
    assert "cannot post in this channel" in error["msg"]
    assert listed(client) == []


def test_halfway_reminder_shows_its_seconds(client):
    meeting = create(client, title="Demo", when="in 1m").json()

    assert meeting["remind_minutes"] == 0
    assert meeting["remind_seconds"] == 30
