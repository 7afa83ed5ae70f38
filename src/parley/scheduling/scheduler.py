"""The scheduler: reminders before scheduled meetings, and their rooms at start.

The scheduler takes its clock as a dependency and does nothing between passes, so
tests drive it in virtual time by moving a fake clock and calling `run_due`. In
production a task runs a pass whenever the next meeting is due, and at least every
`poll_interval`, because another process may have added or cancelled meetings.

Reminders and rooms go to the channel through a `SchedulePoster` (the bot, through
its outbox), so a Mattermost outage delays them but loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from parley.errors import JanusError
from parley.meetings.model import Meeting
from parley.scheduling.model import Schedule
from parley.storage.schedules import SqlScheduleStore
from parley.types import Clock
from parley.worker import Worker

logger = logging.getLogger(__name__)

# A reminder posted more than this after its time carries a note that it is late.
LATE_NOTE_AFTER = timedelta(minutes=1)
# An occurrence whose start is longer ago than this is over: its missed reminder
# and room are skipped rather than posted hours late.
MISSED_AFTER = timedelta(hours=1)
# How long to wait before trying again to open a room when Janus failed.
ROOM_RETRY = timedelta(seconds=30)

OpenRoom = Callable[[Schedule], Awaitable[Meeting]]


class SchedulePoster(Protocol):
    """The channel side of the scheduler, which posts reminders and rooms."""

    async def reminder(self, schedule: Schedule, *, late: bool) -> None: ...

    async def room_opened(self, schedule: Schedule, meeting: Meeting) -> None: ...


class Scheduler:
    def __init__(
        self,
        store: SqlScheduleStore,
        clock: Clock,
        open_room: OpenRoom,
        poster: SchedulePoster,
        *,
        poll_interval: float = 30.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.open_room = open_room
        self.poster = poster
        self.poll_interval = poll_interval
        self._worker = Worker(
            "scheduler",
            self.run_due,
            store.next_due_at,
            clock,
            lambda: self.poll_interval,
        )

    def wake(self) -> None:
        """Run a pass soon, as after a meeting was scheduled or cancelled."""
        self._worker.wake()

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def run_due(self) -> int:
        """Post the reminders and open the rooms that are due; return how many
        meetings were worked on."""
        handled = 0
        for _ in range(100):  # bounded: each round moves the due meetings on
            schedules = await self.store.due(self.clock.now())
            if not schedules:
                break
            progressed = False
            for schedule in schedules:
                progressed |= await self._handle(schedule)
                handled += 1
            if not progressed:
                break
        return handled

    async def _handle(self, schedule: Schedule) -> bool:
        """Take the next step for one due meeting; return whether it moved on."""
        now = self.clock.now()
        if schedule.next_due_at > now:
            return False

        if schedule.reminded_start != schedule.next_start and now < schedule.next_start:
            if schedule.remind_before > timedelta(0):
                await self._remind(schedule, now)
            return True

        if schedule.reminded_start != schedule.next_start and schedule.remind_before:
            # The reminder's time passed while Parley was down or busy.
            await self._remind(schedule, now)

        if schedule.opened_start != schedule.next_start:
            if not await self.store.claim_opening(schedule):
                return False  # another process opens it
            if not await self._open(schedule, now):
                return False
        return await self.store.advance(schedule)

    async def _remind(self, schedule: Schedule, now: datetime) -> None:
        if not await self.store.claim_reminder(schedule):
            return  # another process posted it
        if now - schedule.next_start > MISSED_AFTER:
            logger.warning(
                "Skipped the reminder of scheduled meeting %s at %s: Parley was "
                "not running until the meeting was over",
                schedule.short_id,
                schedule.next_start.isoformat(),
            )
            return
        late = (
            now - schedule.reminder_at > LATE_NOTE_AFTER or now >= schedule.next_start
        )
        logger.info(
            "Reminding channel %s of scheduled meeting %s%s",
            schedule.channel_id,
            schedule.short_id,
            " (late)" if late else "",
        )
        await self.poster.reminder(schedule, late=late)

    async def _open(self, schedule: Schedule, now: datetime) -> bool:
        """Open the room of `next_start`; return False to try again later."""
        if now - schedule.next_start > MISSED_AFTER:
            logger.warning(
                "Skipped the room of scheduled meeting %s at %s: Parley was not "
                "running until the meeting was over",
                schedule.short_id,
                schedule.next_start.isoformat(),
            )
            return True
        try:
            meeting = await self.open_room(schedule)
        except JanusError as error:
            logger.error(
                "Opening the room of scheduled meeting %s failed; trying again in "
                "%d s: %s",
                schedule.short_id,
                ROOM_RETRY.total_seconds(),
                error,
            )
            await self.store.release_opening(schedule, retry_at=now + ROOM_RETRY)
            return False
        logger.info(
            "Opened meeting %s for scheduled meeting %s",
            meeting.slug,
            schedule.short_id,
        )
        await self.poster.room_opened(schedule, meeting)
        return True
