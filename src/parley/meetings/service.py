"""Creating meetings and finding them again: the rules, with no HTTP and no SQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from parley.errors import JanusError, RoomEnded, RoomNameTaken, RoomNotFound
from parley.meetings.access import TokenSigner, hash_password
from parley.meetings.model import Meeting, MeetingState, Origin
from parley.meetings.naming import new_id, new_room_id, new_slug
from parley.types import Clock, MediaGateway, MeetingObserver, MeetingStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomPolicy:
    max_publishers: int
    bitrate: int


class MeetingService:
    def __init__(
        self,
        store: MeetingStore,
        gateway: MediaGateway,
        clock: Clock,
        policy: RoomPolicy,
        tokens: TokenSigner | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.policy = policy
        self.tokens = tokens  # None while no API secret is configured
        self.observers: list[MeetingObserver] = []
        self._naming_lock = asyncio.Lock()

    async def create_meeting(
        self,
        title: str,
        origin: Origin,
        *,
        slug: str | None = None,
        ends_when_empty: bool = False,
    ) -> Meeting:
        """Create the Janus room, then store the open meeting.

        Without a `slug`, the meeting gets a fresh unguessable one made from the title.

        The room comes first, so a Janus failure stores nothing and the store takes
        one write per meeting. A room left behind by a crash in between is dropped at
        the next Janus restart, because Parley's rooms are not permanent.
        """
        meeting = Meeting(
            id=new_id(),
            slug=slug or new_slug(title, fallback="meeting"),
            title=title,
            janus_room_id=new_room_id(),
            state=MeetingState.OPEN,
            created_at=self.clock.now(),
            origin=origin,
            ends_when_empty=ends_when_empty,
        )
        try:
            await self._create_room(meeting)
        except JanusError:
            logger.exception(
                "Creating the Janus room for meeting %s failed", meeting.slug
            )
            raise

        await self.store.add_meeting(meeting)
        logger.info(
            "Meeting %s created in channel %s by %s",
            meeting.slug,
            origin.channel_name or origin.channel_id or "-",
            origin.user_name or origin.user_id or "-",
        )
        return meeting

    async def find_open_meeting(self, slug: str) -> Meeting:
        """Return the open meeting with that slug, or raise RoomNotFound / RoomEnded.

        A meeting whose duration has run out is ended here, in case no live room's
        timer was there to end it.
        """
        meeting = await self.store.get_meeting(slug)
        if meeting is None:
            raise RoomNotFound(slug)
        if meeting.state is MeetingState.ENDED:
            raise RoomEnded(slug)
        if self.time_is_up(meeting):
            await self.end_meeting(meeting)
            raise RoomEnded(slug)
        return meeting

    async def open_named_meeting(self, name: str, origin: Origin) -> Meeting:
        """Return the open meeting in the room named `name`, creating it if needed."""
        # Serialised so that two calls for a new name create one meeting, not two.
        async with self._naming_lock:
            try:
                return await self.find_open_meeting(name)
            except (RoomNotFound, RoomEnded):
                return await self.create_meeting(name, origin, slug=name)

    async def create_named_meeting(
        self, name: str, title: str, origin: Origin
    ) -> Meeting:
        """Create a meeting in the room named `name`; raise RoomNameTaken if open."""
        async with self._naming_lock:
            try:
                await self.find_open_meeting(name)
            except (RoomNotFound, RoomEnded):
                return await self.create_meeting(title, origin, slug=name)
            raise RoomNameTaken(name)

    async def set_access(
        self,
        meeting: Meeting,
        *,
        password: str | None = None,
        duration: timedelta | None = None,
    ) -> None:
        """Set the room password and the duration; None leaves either as it was."""
        if password is not None:
            # scrypt takes tens of milliseconds, too long to block the event loop.
            meeting.password_hash = await asyncio.to_thread(hash_password, password)
        if duration is not None:
            meeting.duration = duration
            if meeting.started_at is not None:
                meeting.ends_at = meeting.started_at + duration
        await self.store.save_access(meeting)

    async def mark_started(self, meeting: Meeting) -> None:
        """Record the first join; the meeting's duration counts from then."""
        if meeting.started_at is not None:
            return
        meeting.started_at = self.clock.now()
        if meeting.duration is not None:
            meeting.ends_at = meeting.started_at + meeting.duration
        await self.store.save_access(meeting)

    def time_is_up(self, meeting: Meeting) -> bool:
        return meeting.ends_at is not None and self.clock.now() >= meeting.ends_at

    async def end_meeting(self, meeting: Meeting) -> None:
        """Mark the meeting ended and release its Janus room.

        The meeting is ended in the store even when Janus cannot be reached, because
        a Janus that lost its connection has lost the room too.
        """
        await self.store.set_state(meeting, MeetingState.ENDED, at=self.clock.now())
        try:
            await self.gateway.destroy_room(meeting.janus_room_id)
        except JanusError as error:
            logger.warning(
                "Destroying the Janus room of meeting %s failed: %s",
                meeting.slug,
                error,
            )
        logger.info("Meeting %s ended", meeting.slug)
        for observer in self.observers:
            await _tell(observer.meeting_ended(meeting), meeting)

    async def participants_changed(
        self, meeting: Meeting, participants: Sequence[str]
    ) -> None:
        """Tell the observers who is in the meeting now."""
        for observer in self.observers:
            await _tell(observer.participants_changed(meeting, participants), meeting)

    async def ensure_room(self, meeting: Meeting) -> None:
        """Re-create the Janus room if Janus lost it, as after a Janus restart.

        Videoroom rooms are not permanent, so a restarted Janus starts empty while the
        meeting is still open in Parley's database.
        """
        if await self.gateway.room_exists(meeting.janus_room_id):
            return
        logger.info("Re-creating the Janus room of meeting %s", meeting.slug)
        await self._create_room(meeting)

    async def _create_room(self, meeting: Meeting) -> None:
        await self.gateway.create_room(
            meeting.janus_room_id,
            description=meeting.slug,
            max_publishers=self.policy.max_publishers,
            bitrate=self.policy.bitrate,
        )


async def _tell(notification: Awaitable[None], meeting: Meeting) -> None:
    # An observer's failure, such as a database error while queueing a channel
    # post, must not fail the join, leave or end that it reports.
    try:
        await notification
    except Exception:
        logger.exception("Reporting a change of meeting %s failed", meeting.slug)
