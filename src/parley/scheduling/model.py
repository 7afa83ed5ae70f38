"""A scheduled meeting, with its state machine and its next occurrence."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from parley.errors import MeetingError
from parley.scheduling.recurrence import Recurrence

logger = logging.getLogger(__name__)


class ScheduleState(enum.StrEnum):
    SCHEDULED = "scheduled"  # an occurrence is still to come
    CANCELLED = "cancelled"  # its organiser or an admin cancelled it
    FINISHED = "finished"  # a one-off meeting whose room was opened


_TRANSITIONS: dict[ScheduleState, frozenset[ScheduleState]] = {
    ScheduleState.SCHEDULED: frozenset(
        {ScheduleState.CANCELLED, ScheduleState.FINISHED}
    ),
    ScheduleState.CANCELLED: frozenset(),
    ScheduleState.FINISHED: frozenset(),
}


@dataclass
class Schedule:
    """A meeting scheduled from a channel, one-off or recurring.

    `next_start` is the occurrence the scheduler works on next. `reminded_start`
    and `opened_start` are the occurrences whose reminder was posted and whose room
    was opened, so each happens once even with two Parley processes.
    """

    id: str
    short_id: str  # what people type in `/sfu schedule cancel <id>`
    title: str
    zone: ZoneInfo
    first_start: datetime
    next_start: datetime
    remind_before: timedelta
    state: ScheduleState
    created_at: datetime
    channel_id: str = ""
    channel_name: str = ""
    team_id: str = ""
    root_id: str = ""
    organiser_id: str = ""
    organiser_name: str = ""
    invitees: tuple[str, ...] = field(default=())
    days: frozenset[int] | None = None  # recurring on these weekdays (0 = Monday)
    local_time: time | None = None  # the wall-clock time of a recurring meeting
    reminded_start: datetime | None = None
    opened_start: datetime | None = None
    cancelled_at: datetime | None = None
    sequence: int = 0  # raised on every change, for calendar apps

    @property
    def recurrence(self) -> Recurrence | None:
        if self.days is None or self.local_time is None:
            return None
        return Recurrence(self.days, self.local_time, self.zone)

    @property
    def reminder_at(self) -> datetime:
        return self.next_start - self.remind_before

    @property
    def next_due_at(self) -> datetime:
        """When the scheduler next has something to do for this meeting."""
        reminder_pending = (
            self.remind_before > timedelta(0) and self.reminded_start != self.next_start
        )
        return self.reminder_at if reminder_pending else self.next_start

    def following_start(self) -> datetime | None:
        """Return the occurrence after `next_start`, or None for a one-off meeting."""
        recurrence = self.recurrence
        return None if recurrence is None else recurrence.next_after(self.next_start)

    def move_to(self, new: ScheduleState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise MeetingError(
                f"Scheduled meeting {self.short_id!r} cannot go from {self.state} "
                f"to {new}."
            )
        logger.debug("schedule %s: %s -> %s", self.short_id, self.state, new)
        self.state = new
