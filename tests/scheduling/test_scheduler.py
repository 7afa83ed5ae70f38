"""The scheduler in virtual time, on real SQLite, with a recording poster."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from parley.errors import JanusUnavailable
from parley.meetings.model import Meeting, MeetingState, Origin
from parley.scheduling.model import Schedule, ScheduleState
from parley.scheduling.recurrence import Recurrence
from parley.scheduling.scheduler import Scheduler
from parley.scheduling.service import Organiser, ScheduleService
from parley.scheduling.when import ScheduleRequest
from parley.storage import Database, create_engine, migrate
from parley.storage.schedules import SqlScheduleStore
from tests.support.fakes import FakeClock

NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ORGANISER = Organiser(user_id="u1", user_name="bob", channel_id="c1", team_id="t1")


@dataclass
class RecordingPoster:
    reminders: list[tuple[str, datetime, bool]] = field(default_factory=list)
    rooms: list[tuple[str, datetime]] = field(default_factory=list)

    async def reminder(self, schedule: Schedule, *, late: bool) -> None:
        self.reminders.append((schedule.short_id, schedule.next_start, late))

    async def room_opened(self, schedule: Schedule, meeting: Meeting) -> None:
        self.rooms.append((schedule.short_id, schedule.next_start))


@dataclass
class RoomOpener:
    failures: int = 0
    opened: int = 0

    async def __call__(self, schedule: Schedule) -> Meeting:
        if self.failures:
            self.failures -= 1
            raise JanusUnavailable("Janus is restarting")
        self.opened += 1
        return Meeting(
            id=f"m{self.opened}",
            slug=f"room-{self.opened}",
            title=schedule.title,
            janus_room_id=self.opened,
            state=MeetingState.OPEN,
            created_at=schedule.next_start,
            origin=Origin(channel_id=schedule.channel_id),
        )


@pytest.fixture
async def database(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'schedules.db'}")
    await migrate(engine)
    yield Database(engine)
    await engine.dispose()


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def poster():
    return RecordingPoster()


@pytest.fixture
def rooms():
    return RoomOpener()


def make_scheduler(database, clock, poster, rooms) -> Scheduler:
    return Scheduler(SqlScheduleStore(database), clock, rooms, poster)


async def schedule_meeting(
    database,
    clock,
    start: datetime,
    *,
    zone: ZoneInfo = BERLIN,
    recurrence: Recurrence | None = None,
    remind: timedelta | None = None,
) -> Schedule:
    service = ScheduleService(SqlScheduleStore(database), clock)
    request = ScheduleRequest(
        title="standup",
        start=start,
        zone=zone,
        local_start=start.astimezone(zone).replace(tzinfo=None),
        recurrence=recurrence,
        remind_before=remind,
        invitees=("alice",),
    )
    return await service.schedule(request, ORGANISER)


async def run_at(scheduler: Scheduler, clock: FakeClock, moment: datetime) -> None:
    clock.current = moment
    await scheduler.run_due()


async def test_reminder_fires_at_its_moment(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, start - timedelta(minutes=10, seconds=1))
    assert poster.reminders == []

    await run_at(scheduler, clock, start - timedelta(minutes=10))
    assert poster.reminders == [(schedule.short_id, start, False)]
    assert poster.rooms == []


async def test_room_opens_at_start_once(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, start - timedelta(seconds=1))
    assert poster.rooms == []
    await run_at(scheduler, clock, start)
    await run_at(scheduler, clock, start + timedelta(minutes=5))

    assert poster.rooms == [(schedule.short_id, start)]
    assert len(poster.reminders) == 1
    stored = await SqlScheduleStore(database).get(schedule.short_id)
    assert stored.state is ScheduleState.FINISHED


async def test_restart_before_reminder(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    before = make_scheduler(database, clock, poster, rooms)
    await run_at(before, clock, NOW + timedelta(minutes=30))

    after = make_scheduler(database, clock, poster, rooms)
    await run_at(after, clock, start - timedelta(minutes=10))
    await run_at(after, clock, start)

    assert poster.reminders == [(schedule.short_id, start, False)]
    assert poster.rooms == [(schedule.short_id, start)]


async def test_two_schedulers_post_each_reminder_once(
    database, clock, poster, rooms, tmp_path
):
    starts = [NOW + timedelta(minutes=20 + minute) for minute in range(20)]
    for start in starts:
        await schedule_meeting(database, clock, start)
    # A second engine on the same file, as a second Parley process would have.
    other_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'schedules.db'}")
    first = make_scheduler(database, clock, poster, rooms)
    second = make_scheduler(Database(other_engine), clock, poster, rooms)

    for minute in range(0, 50):
        clock.current = NOW + timedelta(minutes=minute)
        await asyncio.gather(first.run_due(), second.run_due())
    await other_engine.dispose()

    assert sorted(start for _, start, _ in poster.reminders) == starts
    assert sorted(start for _, start in poster.rooms) == starts
    assert rooms.opened == 20


async def test_cancel_stops_reminders(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    service = ScheduleService(SqlScheduleStore(database), clock)
    scheduler = make_scheduler(database, clock, poster, rooms)

    assert await service.cancel(schedule)
    await run_at(scheduler, clock, start)

    assert poster.reminders == []
    assert poster.rooms == []
    assert not await service.cancel(schedule)


async def test_missed_reminder_is_posted_late(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    # Parley was down from before the reminder until 2 minutes before start.
    await run_at(scheduler, clock, start - timedelta(minutes=2))

    assert poster.reminders == [(schedule.short_id, start, True)]


async def test_reminder_missed_until_start_comes_with_room(
    database, clock, poster, rooms
):
    start = NOW + timedelta(hours=1)
    await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, start + timedelta(minutes=5))

    assert [late for _, _, late in poster.reminders] == [True]
    assert len(poster.rooms) == 1


async def test_meeting_over_while_down_is_skipped(
    database, clock, poster, rooms, caplog
):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, start + timedelta(hours=3))

    assert poster.reminders == []
    assert poster.rooms == []
    assert f"Skipped the reminder of scheduled meeting {schedule.short_id}" in (
        caplog.text
    )


async def test_room_retried_when_janus_fails(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)
    rooms.failures = 1

    await run_at(scheduler, clock, start)
    assert poster.rooms == []
    await run_at(scheduler, clock, start + timedelta(seconds=29))
    assert poster.rooms == []
    await run_at(scheduler, clock, start + timedelta(seconds=30))

    assert len(poster.rooms) == 1


async def test_no_reminder_when_minutes_is_zero(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    await schedule_meeting(database, clock, start, remind=timedelta(0))
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, start)

    assert poster.reminders == []
    assert len(poster.rooms) == 1


async def test_weekly_meeting_keeps_local_time_across_dst(
    database, clock, poster, rooms
):
    # New York moves to daylight time on Sunday 2027-03-14.
    clock.current = datetime(2027, 3, 1, tzinfo=UTC)
    recurrence = Recurrence(frozenset({0}), time(9, 30), NEW_YORK)
    first = recurrence.next_after(clock.current)
    await schedule_meeting(database, clock, first, zone=NEW_YORK, recurrence=recurrence)
    scheduler = make_scheduler(database, clock, poster, rooms)

    for day in range(0, 22):
        for hour in range(24):
            clock.current = datetime(2027, 3, 1, tzinfo=UTC) + timedelta(
                days=day, hours=hour
            )
            await scheduler.run_due()

    opened = [start for _, start in poster.rooms]
    assert opened == [
        datetime(2027, 3, 1, 14, 30, tzinfo=UTC),
        datetime(2027, 3, 8, 14, 30, tzinfo=UTC),
        datetime(2027, 3, 15, 13, 30, tzinfo=UTC),
        datetime(2027, 3, 22, 13, 30, tzinfo=UTC),
    ]
    assert all(start.astimezone(NEW_YORK).time() == time(9, 30) for start in opened)
    assert len(poster.reminders) == 4


async def test_soon_meeting_is_reminded_halfway(database, clock, poster, rooms):
    start = NOW + timedelta(minutes=2)
    schedule = await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, NOW + timedelta(seconds=59))
    assert poster.reminders == []
    await run_at(scheduler, clock, NOW + timedelta(minutes=1))
    assert poster.reminders == [(schedule.short_id, start, False)]
    await run_at(scheduler, clock, start)

    assert len(poster.rooms) == 1


async def test_explicit_reminder_too_early_is_skipped(database, clock, poster, rooms):
    start = NOW + timedelta(minutes=2)
    await schedule_meeting(database, clock, start, remind=timedelta(minutes=5))
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, NOW)
    await run_at(scheduler, clock, start)

    assert poster.reminders == []
    assert len(poster.rooms) == 1


async def test_recurring_first_reminder_too_early_is_skipped(
    database, clock, poster, rooms
):
    recurrence = Recurrence(frozenset(range(7)), time(9, 5), ZoneInfo("UTC"))
    first = recurrence.next_after(NOW)
    schedule = await schedule_meeting(
        database, clock, first, zone=ZoneInfo("UTC"), recurrence=recurrence
    )
    scheduler = make_scheduler(database, clock, poster, rooms)

    await run_at(scheduler, clock, first)
    await run_at(scheduler, clock, first + timedelta(hours=23, minutes=50))

    assert schedule.remind_before == timedelta(minutes=10)
    assert poster.reminders == [(schedule.short_id, first + timedelta(days=1), False)]


async def test_halfway_reminder_is_whole_minutes(database, clock, poster, rooms):
    start = NOW + timedelta(minutes=5, seconds=45)

    schedule = await schedule_meeting(database, clock, start)

    assert schedule.remind_before == timedelta(minutes=2)


async def test_channel_wide_mentions_are_not_invitees(database, clock):
    service = ScheduleService(SqlScheduleStore(database), clock)
    request = ScheduleRequest(
        title="all hands",
        start=NOW + timedelta(hours=1),
        zone=BERLIN,
        local_start=(NOW + timedelta(hours=1)).astimezone(BERLIN).replace(tzinfo=None),
        invitees=("here", "channel", "all", "bob"),
    )

    schedule = await service.schedule(request, ORGANISER)

    assert schedule.invitees == ("bob",)


async def test_reminder_after_start_is_marked_late(database, clock, poster, rooms):
    start = NOW + timedelta(hours=1)
    schedule = await schedule_meeting(database, clock, start)
    scheduler = make_scheduler(database, clock, poster, rooms)

    # Down from before the reminder until 30 s after the start.
    await run_at(scheduler, clock, start + timedelta(seconds=30))

    assert poster.reminders == [(schedule.short_id, start, True)]
