"""`/sfu schedule` against the Mattermost stand-in, in virtual time.

Parley's clock runs from a fixed start and jumps when a test moves it. The test then
wakes the scheduler, which posts what is due through the outbox to the stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from parley.app import create_app
from parley.config import load_settings
from tests.support.fakes import FakeMediaGateway, RunningClock
from tests.support.live import free_port
from tests.support.mattermost import (
    CommandOutcome,
    MattermostStandIn,
    Post,
    serve_in_loop,
    webapp_command_line,
)
from tests.web.test_channel_bot import TOKEN, RunningParley, bot_posts

START = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def run_parley(
    data_dir: Path, mattermost: MattermostStandIn, bot_token: str, clock: RunningClock
) -> AsyncIterator[RunningParley]:
    environ = {
        "PARLEY_MATTERMOST_TOKENS": TOKEN,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PUBLIC_URL": "https://meet.example.org",
        "PARLEY_LOCALE": "en",
        "PARLEY_MATTERMOST_URL": mattermost.site_url,
        "PARLEY_MATTERMOST_BOT_TOKEN": bot_token,
    }
    port = free_port()
    environ["PARLEY_MATTERMOST_CALLBACK_URL"] = f"http://127.0.0.1:{port}"
    app = create_app(
        load_settings(environ=environ), gateway=FakeMediaGateway(), clock=clock
    )
    async with serve_in_loop(app, port=port) as url:
        outbox = app.state.parley.outbox
        outbox.first_retry = 0.05
        outbox.poll_interval = 0.1
        yield RunningParley(url, app, clock)


@pytest.fixture(scope="module")
def running_standin() -> Iterator[MattermostStandIn]:
    with MattermostStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(running_standin: MattermostStandIn):
    return running_standin.add_bot("parley-bot", channels=[running_standin.channel])


@pytest.fixture
def mattermost(running_standin: MattermostStandIn) -> MattermostStandIn:
    running_standin.reset()
    if not running_standin.running:
        running_standin.start()
    running_standin.set_timezone(
        running_standin.user, manual="UTC", use_automatic=False
    )
    return running_standin


@pytest.fixture
def clock() -> RunningClock:
    return RunningClock(START)


@pytest.fixture
async def parley(tmp_path, mattermost, bot, clock) -> AsyncIterator[RunningParley]:
    async with run_parley(tmp_path, mattermost, bot[1], clock) as running:
        yield running


async def sfu(mattermost, parley, typed: str, **options) -> CommandOutcome:
    return await mattermost.execute_command(
        parley.command_url, webapp_command_line(typed), token=TOKEN, **options
    )


async def move_clock(parley: RunningParley, moment: datetime) -> None:
    parley.clock.jump_to(moment)
    parley.app.state.parley.scheduler.wake()
    parley.app.state.parley.outbox.wake()


async def wait_for_posts(mattermost, count: int) -> list[Post]:
    return await mattermost.wait_for(
        lambda: bot_posts(mattermost) if len(bot_posts(mattermost)) >= count else None
    )


async def test_schedule_in_2m_reminds_then_opens(mattermost, parley) -> None:
    outcome = await sfu(mattermost, parley, "/sfu schedule in 2m demo @alice")

    [reply] = outcome.ephemeral
    assert "Scheduled **demo** for Fri 15 Jan 2027, 09:02 UTC (UTC+00:00)" in (
        reply.message
    )
    [announcement] = await wait_for_posts(mattermost, 1)
    assert announcement.message == "@bob scheduled a meeting: **demo**"

    await move_clock(parley, START + timedelta(seconds=59))
    await move_clock(parley, START + timedelta(minutes=1))
    posts = await wait_for_posts(mattermost, 2)
    assert posts[1].message.startswith("@alice Reminder: **demo** starts at")

    await move_clock(parley, START + timedelta(minutes=2))
    posts = await wait_for_posts(mattermost, 3)
    assert posts[2].message.startswith("@alice **demo** starts now.")
    assert "/join/demo-" in posts[2].attachments[0]["title_link"]

    await move_clock(parley, START + timedelta(minutes=3))
    assert len(bot_posts(mattermost)) == 3


async def test_restart_between_schedule_and_reminder(
    tmp_path, mattermost, bot, clock
) -> None:
    async with run_parley(tmp_path, mattermost, bot[1], clock) as parley:
        await sfu(mattermost, parley, "/sfu schedule in 20m retro --remind 5m")
        await wait_for_posts(mattermost, 1)

    clock.jump_to(START + timedelta(minutes=15))
    async with run_parley(tmp_path, mattermost, bot[1], clock) as parley:
        await move_clock(parley, clock.now())
        posts = await wait_for_posts(mattermost, 2)
        await move_clock(parley, START + timedelta(minutes=20))
        posts = await wait_for_posts(mattermost, 3)

    assert posts[1].message.startswith("Reminder: **retro**")
    assert "late" not in posts[1].message
    assert posts[2].message.startswith("**retro** starts now.")
    assert len(bot_posts(mattermost)) == 3


async def test_shanghai_user_tomorrow_10(mattermost, parley) -> None:
    mattermost.set_timezone(
        mattermost.user, manual="Asia/Shanghai", use_automatic=False
    )

    outcome = await sfu(mattermost, parley, "/sfu schedule 明天 10:00 周会")

    [reply] = outcome.ephemeral
    # 09:00 UTC is 17:00 in Shanghai, so tomorrow is Saturday the 16th.
    assert "Sat 16 Jan 2027, 10:00 Asia/Shanghai (UTC+08:00)" in reply.message
    commands = parley.app.state.parley.commands.schedules
    [schedule] = await commands.service.store.list_upcoming()
    assert schedule.next_start == datetime(2027, 1, 16, 2, 0, tzinfo=UTC)
    assert schedule.title == "周会"


async def test_automatic_zone_is_used(mattermost, parley) -> None:
    mattermost.set_timezone(mattermost.user, automatic="America/New_York")

    outcome = await sfu(mattermost, parley, "/sfu schedule tomorrow 9:30 standup")

    assert "Sat 16 Jan 2027, 09:30 America/New_York (UTC-05:00)" in (
        outcome.ephemeral[0].message
    )


async def test_unparseable_time_gets_examples(mattermost, parley) -> None:
    outcome = await sfu(mattermost, parley, "/sfu schedule whenever works")

    message = outcome.ephemeral[0].message
    assert "could not find a date and time" in message
    assert "/sfu schedule tomorrow 9:30 standup" in message
    assert bot_posts(mattermost) == []


async def test_past_time_is_refused(mattermost, parley) -> None:
    outcome = await sfu(mattermost, parley, "/sfu schedule 2027-01-14 10:00 late")

    assert "which has already passed" in outcome.ephemeral[0].message
    assert bot_posts(mattermost) == []


async def test_list_and_cancel(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu schedule tomorrow 9:30 standup")
    [announcement] = await wait_for_posts(mattermost, 1)
    store = parley.app.state.parley.commands.schedules.service.store
    [schedule] = await store.list_upcoming()

    listed = await sfu(mattermost, parley, "/sfu schedule list")
    refused = await sfu(
        mattermost,
        parley,
        f"/sfu schedule cancel {schedule.short_id}",
        user=mattermost.other_user,
    )
    cancelled = await sfu(
        mattermost, parley, f"/sfu schedule cancel {schedule.short_id}"
    )

    assert f"`{schedule.short_id}` **standup**" in listed.ephemeral[0].message
    assert "/calendar/channels/" in listed.ephemeral[0].message
    assert refused.ephemeral[0].message.startswith("Only @bob")
    assert cancelled.ephemeral[0].message.startswith("Cancelled **standup**")
    updated = await mattermost.wait_for(
        lambda: (
            mattermost.post(announcement.id)
            if "cancelled" in mattermost.post(announcement.id).message
            else None
        )
    )
    assert updated.message == "~~standup~~ was cancelled by @bob."

    await move_clock(parley, START + timedelta(days=2))
    assert len(bot_posts(mattermost)) == 1


async def test_cancel_button(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu schedule tomorrow 9:30 standup")
    [announcement] = await wait_for_posts(mattermost, 1)

    outcome = await mattermost.click(announcement.id, "cancelschedule", mattermost.user)

    assert outcome.ephemeral_text.startswith("Cancelled **standup**")
    store = parley.app.state.parley.commands.schedules.service.store
    assert await store.list_upcoming() == []


async def test_cancel_unknown_id(mattermost, parley) -> None:
    outcome = await sfu(mattermost, parley, "/sfu schedule cancel zzzzzz")

    assert "No scheduled meeting has the id `zzzzzz`" in outcome.ephemeral[0].message


async def test_zone_falls_back_to_default(mattermost, parley) -> None:
    mattermost.set_timezone(
        mattermost.user, manual="Asia/Shanghai", use_automatic=False
    )
    # enough failures for the access check, the zone lookup and the first post
    mattermost.fail_api(3, status=502)

    outcome = await sfu(mattermost, parley, "/sfu schedule tomorrow 9:30 standup")

    message = outcome.ephemeral[0].message
    assert "Sat 16 Jan 2027, 09:30 UTC (UTC+00:00)" in message
    assert "Parley read the time in UTC" in message


async def test_schedule_without_bot_says_what_to_set(tmp_path, mattermost) -> None:
    environ = {
        "PARLEY_MATTERMOST_TOKENS": TOKEN,
        "PARLEY_DATA_DIR": str(tmp_path),
        "PARLEY_LOCALE": "en",
    }
    app = create_app(load_settings(environ=environ), gateway=FakeMediaGateway())
    async with serve_in_loop(app) as url:
        outcome = await mattermost.execute_command(
            f"{url}/mattermost", "/sfu schedule tomorrow 9:30 x", token=TOKEN
        )

    assert "PARLEY_MATTERMOST_URL" in outcome.ephemeral[0].message


async def test_calendar_link_names_the_channel(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu schedule tomorrow 9:30 standup")
    [announcement] = await wait_for_posts(mattermost, 1)
    link = announcement.attachments[0]["title_link"]
    path = link.removeprefix("https://meet.example.org")

    async with httpx.AsyncClient(base_url=parley.url) as client:
        response = await client.get(path)

    assert response.status_code == 200
    [event] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert "~town-square" in str(event["DESCRIPTION"])
    assert event["DTSTART"].dt == datetime(2027, 1, 16, 9, 30, tzinfo=ZoneInfo("UTC"))


async def test_channel_without_bot_is_refused(mattermost, parley) -> None:
    secret = mattermost.add_channel(
        f"secret{id(parley)}", private=True, members=[mattermost.user]
    )

    outcome = await sfu(
        mattermost, parley, "/sfu schedule tomorrow 9:30 standup", channel=secret
    )

    assert "cannot post in this channel" in outcome.ephemeral[0].message
    assert "/invite @parley-bot" in outcome.ephemeral[0].message
    store = parley.app.state.parley.commands.schedules.service.store
    assert await store.list_upcoming() == []
