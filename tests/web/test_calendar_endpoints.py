"""Calendar files of scheduled meetings, read back with icalendar.

Parley runs with the bot pointed at a closed loopback port: the announcements wait in
the outbox, which is all these tests need. Meetings are scheduled through
ScheduleService directly, so the tests do not depend on the slash command.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from parley.app import create_app
from parley.config import load_settings
from parley.mattermost.schedule_posts import feed_key
from parley.scheduling.model import Schedule
from parley.scheduling.recurrence import Recurrence
from parley.scheduling.service import Organiser
from parley.scheduling.when import ScheduleRequest
from tests.support.fakes import FakeClock, FakeMediaGateway

PUBLIC_URL = "https://meet.example.org"
SECRET = "s3cret-for-schedule-tests-0123"
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
CHANNEL = "4xp9ak3nqjbf8rd1cz6tm5yw7e"
OTHER_CHANNEL = "9h2kd7wq3ncx5tfb1ery8muz4a"


def bot_environ(data_dir, **extra: str) -> dict[str, str]:
    """Settings with the bot on a closed loopback port, so nothing leaves the host."""
    return {
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "PARLEY_LOCALE": "en",
        "PARLEY_API_SECRET": SECRET,
        "PARLEY_MATTERMOST_URL": "http://127.0.0.1:9",
        "PARLEY_MATTERMOST_BOT_TOKEN": "bot-token-for-tests",
        **extra,
    }


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def client(tmp_path, clock):
    settings = load_settings(environ=bot_environ(tmp_path))
    app = create_app(settings, gateway=FakeMediaGateway(), clock=clock)
    with TestClient(app) as client:
        yield client


def schedule_meeting(
    client: TestClient,
    start: datetime,
    *,
    zone: ZoneInfo = BERLIN,
    recurrence: Recurrence | None = None,
    channel_id: str = CHANNEL,
    title: str = "Standup",
) -> Schedule:
    service = client.app.state.parley.commands.schedules.service
    request = ScheduleRequest(
        title=title,
        start=start,
        zone=zone,
        local_start=start.astimezone(zone).replace(tzinfo=None),
        recurrence=recurrence,
    )
    organiser = Organiser(user_id="u1", user_name="bob", channel_id=channel_id)
    return client.portal.call(service.schedule, request, organiser)


def cancel(client: TestClient, schedule: Schedule) -> None:
    service = client.app.state.parley.commands.schedules.service
    assert client.portal.call(service.cancel, schedule)


def calendar_path(schedule: Schedule) -> str:
    return f"/calendar/{schedule.id}.ics"


def feed_path(client: TestClient, channel_id: str) -> str:
    secret = client.app.state.parley.commands.schedules.feed_secret
    return f"/calendar/channels/{channel_id}.ics?key={feed_key(secret, channel_id)}"


def events_of(body: bytes) -> list:
    return Calendar.from_ical(body).walk("VEVENT")


def only_event(body: bytes):
    events = events_of(body)
    assert len(events) == 1
    return events[0]


def test_meeting_file_headers(client):
    schedule = schedule_meeting(client, datetime(2027, 1, 16, 8, 30, tzinfo=UTC))

    response = client.get(calendar_path(schedule))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="parley-{schedule.short_id}.ics"'
    )


def test_meeting_start_round_trips_instant_and_zone(client):
    start = datetime(2027, 1, 16, 8, 30, tzinfo=UTC)
    schedule = schedule_meeting(client, start)

    vevent = only_event(client.get(calendar_path(schedule)).content)

    assert vevent["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert vevent["DTSTART"].dt == start
    assert vevent["DTSTART"].dt.replace(tzinfo=None) == datetime(2027, 1, 16, 9, 30)
    assert "RRULE" not in vevent


def test_meeting_fields(client):
    schedule = schedule_meeting(client, datetime(2027, 1, 16, 8, 30, tzinfo=UTC))

    vevent = only_event(client.get(calendar_path(schedule)).content)

    assert str(vevent["UID"]) == f"{schedule.id}@meet.example.org"
    assert str(vevent["SUMMARY"]) == "Standup"
    assert vevent["SEQUENCE"] == 0
    assert str(vevent["STATUS"]) == "CONFIRMED"
    description = str(vevent["DESCRIPTION"])
    assert "by @bob" in description
    assert f"channel {CHANNEL}" in description
    assert "posted in that channel when the meeting starts" in description


def test_meeting_description_follows_locale(tmp_path, clock):
    settings = load_settings(environ=bot_environ(tmp_path, PARLEY_LOCALE="zh"))
    app = create_app(settings, gateway=FakeMediaGateway(), clock=clock)
    with TestClient(app) as client:
        schedule = schedule_meeting(client, datetime(2027, 1, 16, 8, tzinfo=UTC))
        vevent = only_event(client.get(calendar_path(schedule)).content)

    assert str(vevent["DESCRIPTION"]).startswith(
        f"由 @bob 在 Mattermost 频道 {CHANNEL}"
    )


def test_recurring_meeting_has_rrule_on_local_time(client):
    recurrence = Recurrence(frozenset({0, 2}), time(9, 30), NEW_YORK)
    first = recurrence.next_after(NOW)
    schedule = schedule_meeting(client, first, zone=NEW_YORK, recurrence=recurrence)

    vevent = only_event(client.get(calendar_path(schedule)).content)

    assert vevent["RRULE"].to_ical().decode() == "FREQ=WEEKLY;BYDAY=MO,WE"
    assert vevent["DTSTART"].params["TZID"] == "America/New_York"
    assert vevent["DTSTART"].dt == first
    assert vevent["DTSTART"].dt.replace(tzinfo=None) == datetime(2027, 1, 18, 9, 30)


def test_cancelled_meeting_is_cancelled_with_new_sequence(client):
    schedule = schedule_meeting(client, datetime(2027, 1, 16, 8, 30, tzinfo=UTC))
    cancel(client, schedule)

    vevent = only_event(client.get(calendar_path(schedule)).content)

    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent["SEQUENCE"] == 1
    assert str(vevent["UID"]) == f"{schedule.id}@meet.example.org"


def test_head_sends_headers_only(client):
    schedule = schedule_meeting(client, datetime(2027, 1, 16, 8, 30, tzinfo=UTC))
    full = client.get(calendar_path(schedule))

    response = client.head(calendar_path(schedule))

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-length"] == str(len(full.content))


@pytest.mark.parametrize(
    "schedule_id",
    [
        "0123456789abcdef0123456789abcdef",
        "not-an-id",
        "0123456789ABCDEF0123456789ABCDEF",
    ],
)
def test_unknown_meeting_is_404(client, schedule_id):
    response = client.get(f"/calendar/{schedule_id}.ics")

    assert response.status_code == 404
    assert response.json()["error"] == "schedule_not_found"
    assert "Copy the whole link" in response.json()["message"]


def test_feed_lists_exactly_the_channels_meetings(client):
    start = datetime(2027, 1, 16, 8, 30, tzinfo=UTC)
    kept = schedule_meeting(client, start, title="Kept")
    dropped = schedule_meeting(client, start + timedelta(days=1), title="Dropped")
    cancel(client, dropped)
    schedule_meeting(client, start, channel_id=OTHER_CHANNEL, title="Elsewhere")

    response = client.get(feed_path(client, CHANNEL))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == f"Parley meetings in channel {CHANNEL}"
    status = {str(e["UID"]): str(e["STATUS"]) for e in events_of(response.content)}
    assert status == {
        f"{kept.id}@meet.example.org": "CONFIRMED",
        f"{dropped.id}@meet.example.org": "CANCELLED",
    }


def test_feed_of_empty_channel_has_no_events(client):
    response = client.get(feed_path(client, OTHER_CHANNEL))

    assert response.status_code == 200
    assert events_of(response.content) == []


def test_feed_head_sends_headers_only(client):
    response = client.head(feed_path(client, CHANNEL))

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"


@pytest.mark.parametrize("key", [None, "", "0" * 32, "wrong", "ключ"])
def test_feed_with_missing_or_wrong_key_is_403(client, key):
    schedule_meeting(client, datetime(2027, 1, 16, 8, 30, tzinfo=UTC))
    params = {} if key is None else {"key": key}

    response = client.get(f"/calendar/channels/{CHANNEL}.ics", params=params)

    assert response.status_code == 403
    assert response.json()["error"] == "invalid_feed_key"


def test_feed_key_of_another_channel_is_403(client):
    other_feed = feed_path(client, OTHER_CHANNEL)
    other_key = other_feed.partition("?key=")[2]

    response = client.get(f"/calendar/channels/{CHANNEL}.ics?key={other_key}")

    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/0123456789abcdef0123456789abcdef.ics",
        f"/calendar/channels/{CHANNEL}.ics?key=0123",
    ],
)
def test_calendar_without_bot_is_404(tmp_path, path):
    settings = load_settings(environ={"PARLEY_DATA_DIR": str(tmp_path)})
    with TestClient(create_app(settings, gateway=FakeMediaGateway())) as client:
        response = client.get(path)

    assert response.status_code == 404
    assert response.json()["error"] == "scheduling_not_configured"
    assert "PARLEY_MATTERMOST_URL" in response.json()["message"]
