"""The seams between Parley's parts, named once.

The meetings domain talks to storage, the media gateway and the clock only through the
Protocols below; the adapters (`parley.storage`, `parley.janus`) satisfy them, and so do
the fakes in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypedDict

from parley.meetings.model import Meeting, MeetingState, ParticipantRecord


class Jsep(TypedDict):
    type: str  # "offer" or "answer"
    sdp: str


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class MeetingStore(Protocol):
    async def add_meeting(self, meeting: Meeting) -> None: ...

    async def get_meeting(self, slug: str) -> Meeting | None: ...

    async def set_state(
        self, meeting: Meeting, state: MeetingState, *, at: datetime | None = None
    ) -> None: ...

    async def count_meetings(self) -> int: ...

    async def list_meetings(
        self, *, state: MeetingState | None = None, limit: int = 100
    ) -> list[Meeting]: ...

    async def list_open_in_channel(self, channel_id: str) -> list[Meeting]: ...

    async def list_participants(self, meeting: Meeting) -> list[ParticipantRecord]: ...

    async def save_access(self, meeting: Meeting) -> None: ...

    async def add_participant(
        self, meeting: Meeting, participant_id: str, name: str, joined_at: datetime
    ) -> None: ...

    async def mark_participant_left(
        self, participant_id: str, left_at: datetime
    ) -> None: ...


MediaEventCallback = Callable[[str, dict[str, Any]], None]
"""Called with an event kind ('webrtcup', 'hangup', 'media', ...) and its data."""


class PublisherLink(Protocol):
    """One participant's outgoing stream on the media gateway."""

    feed_id: int

    async def join(self, room_id: int, display: str) -> None: ...

    async def publish(self, offer: Jsep) -> Jsep: ...

    async def set_media(self, *, audio: bool, video: bool) -> None: ...

    async def trickle(self, candidate: dict[str, Any] | None) -> None: ...

    async def close(self) -> None: ...

    def on_event(self, callback: MediaEventCallback) -> None: ...


class SubscriberLink(Protocol):
    """One participant's copy of another participant's stream."""

    async def join(self, room_id: int, feed_id: int) -> Jsep: ...

    async def start(self, answer: Jsep) -> None: ...

    async def trickle(self, candidate: dict[str, Any] | None) -> None: ...

    async def close(self) -> None: ...


class MediaGateway(Protocol):
    """The SFU operations Parley uses: rooms, publishers and subscribers."""

    @property
    def ready(self) -> bool: ...

    def status(self) -> dict[str, Any]: ...

    async def wait_ready(self, timeout: float) -> bool: ...

    async def create_room(
        self, room_id: int, *, description: str, max_publishers: int, bitrate: int
    ) -> None: ...

    async def destroy_room(self, room_id: int) -> None: ...

    async def room_exists(self, room_id: int) -> bool: ...

    async def open_publisher(self, feed_id: int) -> PublisherLink: ...

    async def open_subscriber(self) -> SubscriberLink: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class MeetingObserver(Protocol):
    """Told what happens in meetings, such as the channel bot that shows them."""

    async def participants_changed(
        self, meeting: Meeting, participants: Sequence[str]
    ) -> None:
        """Called with the display names of everyone now in the meeting."""
        ...

    async def meeting_ended(self, meeting: Meeting) -> None: ...


OutboxAction = Literal["create", "patch"]


@dataclass(frozen=True)
class OutboxEntry:
    """One call to Mattermost's API that the outbox still has to make."""

    id: int
    post_key: str
    action: OutboxAction
    channel_id: str
    root_id: str
    body: dict[str, Any]
    fallback: dict[str, Any] | None
    attempts: int  # including the attempt this entry was claimed for
    created_at: datetime


class OutboxStore(Protocol):
    """The outbox's persistent storage, which keeps entries across a restart."""

    async def add(
        self,
        *,
        post_key: str,
        action: OutboxAction,
        body: dict[str, Any],
        now: datetime,
        channel_id: str = "",
        root_id: str = "",
        fallback: dict[str, Any] | None = None,
    ) -> int: ...

    async def claim_due(
        self, now: datetime, *, lease_until: datetime, limit: int
    ) -> list[OutboxEntry]: ...

    async def next_attempt_at(self) -> datetime | None: ...

    async def retry_later(self, entry_id: int, *, at: datetime, error: str) -> None: ...

    async def mark_failed(
        self, entry_id: int, *, now: datetime, error: str
    ) -> None: ...

    async def mark_delivered(self, entry_id: int, *, now: datetime) -> None: ...

    async def record_post(
        self,
        entry_id: int,
        *,
        post_key: str,
        post_id: str,
        channel_id: str,
        now: datetime,
    ) -> None: ...

    async def post_id(self, post_key: str) -> str | None: ...

    async def has_post(self, post_key: str) -> bool: ...

    async def count_pending(self) -> int: ...
