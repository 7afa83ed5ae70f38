"""Scheduling and cancelling meetings: the rules, with no HTTP and no SQL details."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from parley.meetings.naming import new_id
from parley.scheduling.model import Schedule, ScheduleState
from parley.scheduling.when import ScheduleRequest
from parley.storage.schedules import SqlScheduleStore
from parley.types import Clock

logger = logging.getLogger(__name__)

# Short ids are typed by people, so they avoid letters and digits that look alike.
SHORT_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
SHORT_ID_LENGTH = 6
# Mattermost's mentions of a whole channel: not users to invite, and a bot post
# repeating them would notify everyone in the channel twice.
CHANNEL_WIDE = frozenset({"here", "channel", "all"})
# A reminder closer to the start than this would arrive with the room's own post.
MIN_REMIND = timedelta(seconds=30)


@dataclass(frozen=True)
class Organiser:
    """The user who scheduled a meeting, with its channel and thread."""

    user_id: str = ""
    user_name: str = ""
    channel_id: str = ""
    channel_name: str = ""
    team_id: str = ""
    root_id: str = ""


class ScheduleService:
    def __init__(
        self,
        store: SqlScheduleStore,
        clock: Clock,
        *,
        default_remind: timedelta = timedelta(minutes=10),
    ) -> None:
        self.store = store
        self.clock = clock
        self.default_remind = default_remind

    async def schedule(
        self, request: ScheduleRequest, organiser: Organiser
    ) -> Schedule:
        """Store a meeting read from `/sfu schedule` (or the API) and return it."""
        recurrence = request.recurrence
        remind = self._remind_before(request)
        for _ in range(5):
            schedule = Schedule(
                id=new_id(),
                short_id=_short_id(),
                title=request.title,
                zone=request.zone,
                first_start=request.start,
                next_start=request.start,
                remind_before=remind,
                state=ScheduleState.SCHEDULED,
                created_at=self.clock.now(),
                channel_id=organiser.channel_id,
                channel_name=organiser.channel_name,
                team_id=organiser.team_id,
                root_id=organiser.root_id,
                organiser_id=organiser.user_id,
                organiser_name=organiser.user_name,
                invitees=tuple(
                    name for name in request.invitees if name not in CHANNEL_WIDE
                ),
                days=None if recurrence is None else recurrence.days,
                local_time=None if recurrence is None else recurrence.time,
            )
            if schedule.reminder_at <= self.clock.now():
                # Too close to start for a reminder: the room's post is the reminder.
                schedule.reminded_start = schedule.next_start
            try:
                await self.store.add(schedule)
            except IntegrityError:
                logger.info("Short id %s was taken; drawing another", schedule.short_id)
                continue
            logger.info(
                "Meeting %s scheduled in channel %s by %s for %s",
                schedule.short_id,
                organiser.channel_id or "-",
                organiser.user_name or "-",
                schedule.next_start.isoformat(),
            )
            return schedule
        raise RuntimeError("No free short id after 5 draws.")

    def _remind_before(self, request: ScheduleRequest) -> timedelta:
        """Return how long before each occurrence to remind the channel.

        A one-off meeting that starts sooner than the default lead is reminded
        halfway to its start instead, so that people typing `in 2m` still get a
        reminder. An explicit `--remind` is kept as given.
        """
        if request.remind_before is not None:
            return request.remind_before
        until_start = request.start - self.clock.now()
        if request.recurrence is None and until_start < self.default_remind:
            half = int(until_start.total_seconds() // 2)
            if half >= 60:
                half -= half % 60  # whole minutes, as the reply states them
            return (
                timedelta(seconds=half) if half >= MIN_REMIND.seconds else timedelta(0)
            )
        return self.default_remind

    async def cancel(self, schedule: Schedule) -> bool:
        """Cancel a meeting and its reminders; False if it was not scheduled."""
        cancelled = await self.store.cancel(schedule, now=self.clock.now())
        if cancelled:
            logger.info("Scheduled meeting %s cancelled", schedule.short_id)
        return cancelled


def _short_id() -> str:
    return "".join(secrets.choice(SHORT_ID_ALPHABET) for _ in range(SHORT_ID_LENGTH))
