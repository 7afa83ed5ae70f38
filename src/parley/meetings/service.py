"""Creating meetings and finding them again: the rules, with no HTTP and no SQL."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from parley.errors import JanusError, RoomEnded, RoomNotFound
from parley.meetings.model import Meeting, MeetingState, Origin
from parley.meetings.naming import new_id, new_room_id, new_slug
from parley.types import Clock, MediaGateway, MeetingStore

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
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.policy = policy

    async def create_meeting(self, title: str, origin: Origin) -> Meeting:
        """Create the Janus room, then store the open meeting.

        The room comes first so that a Janus failure stores nothing and the store takes
        one write per meeting; a room left behind by a crash in between is dropped at
        the next Janus restart, because Parley's rooms are not permanent.
        """
        meeting = Meeting(
            id=new_id(),
            slug=new_slug(title, fallback="meeting"),
            title=title,
            janus_room_id=new_room_id(),
            state=MeetingState.OPEN,
            created_at=self.clock.now(),
            origin=origin,
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
        """Return the open meeting with that slug, or raise RoomNotFound / RoomEnded."""
        meeting = await self.store.get_meeting(slug)
        if meeting is None:
            raise RoomNotFound(slug)
        if meeting.state is MeetingState.ENDED:
            raise RoomEnded(slug)
        return meeting

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
