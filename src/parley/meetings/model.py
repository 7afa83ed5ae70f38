"""Meetings and participants as values, with the meeting's state machine."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from parley.errors import MeetingError

logger = logging.getLogger(__name__)


class MeetingState(enum.StrEnum):
    OPEN = "open"  # the Janus room exists; people may join
    ENDED = "ended"  # over; the link now shows that the meeting ended


_TRANSITIONS: dict[MeetingState, frozenset[MeetingState]] = {
    MeetingState.OPEN: frozenset({MeetingState.ENDED}),
    MeetingState.ENDED: frozenset(),
}


@dataclass(frozen=True)
class Origin:
    """The Mattermost team, channel and user that started a meeting."""

    team_id: str = ""
    team_domain: str = ""
    channel_id: str = ""
    channel_name: str = ""
    user_id: str = ""
    user_name: str = ""
    root_id: str = ""  # the thread the command was run in, if any


@dataclass
class Meeting:
    id: str
    slug: str
    title: str
    janus_room_id: int
    state: MeetingState
    created_at: datetime
    origin: Origin = field(default_factory=Origin)
    ended_at: datetime | None = None
    # Set by the REST API; see parley.meetings.access.
    password_hash: str | None = None
    duration: timedelta | None = None  # None: the meeting runs until someone ends it
    started_at: datetime | None = None  # when the first participant joined
    ends_at: datetime | None = None  # started_at + duration, once both are known
    # Meetings started from a channel end by themselves once everyone has left;
    # rooms made through the REST API stay open until someone ends them.
    ends_when_empty: bool = False

    def move_to(self, new: MeetingState) -> None:
        """Change state, raising MeetingError for a move the state machine forbids."""
        if new not in _TRANSITIONS[self.state]:
            raise MeetingError(
                f"Meeting {self.slug!r} cannot go from {self.state} to {new}."
            )
        logger.debug("meeting %s: %s -> %s", self.slug, self.state, new)
        self.state = new


@dataclass(frozen=True)
class ParticipantRecord:
    """A participant as stored: who took part in a meeting and when."""

    id: str
    name: str
    joined_at: datetime
    left_at: datetime | None = None
