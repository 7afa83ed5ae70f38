"""Who is in a room right now, and the relay of their media negotiation to Janus.

A `LiveRoom` exists while at least one browser is connected to a meeting. Each
participant owns one publisher on the media gateway (their camera and microphone) and
one subscriber per remote participant they receive. Parley, not the browser, holds these
links, so it always knows who is in the room.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from parley.errors import JanusError, RoomEnded, RoomNotFound, SignalingError
from parley.meetings.access import admit
from parley.meetings.model import Meeting
from parley.meetings.naming import new_id, new_room_id
from parley.meetings.service import MeetingService
from parley.types import Jsep, PublisherLink, SubscriberLink

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
Disconnect = Callable[[], Awaitable[None]]
TimeUp = Callable[[], Awaitable[None]]
MAX_NAME_CHARS = 64
# A meeting started from a channel that no participant joins in this time is ended,
# so that the channel is not offered a forgotten room.
UNJOINED_LIMIT = timedelta(minutes=30)


@dataclass
class Participant:
    id: str
    name: str
    feed_id: int
    send: Send
    disconnect: Disconnect
    audio: bool = True
    video: bool = True
    presenter: bool = False  # from the join token; shown to REST API callers only
    publishing: bool = False
    publisher: PublisherLink | None = None
    subscribers: dict[str, SubscriberLink] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """Return the participant as sent to browsers, without Janus identifiers."""
        return {
            "id": self.id,
            "name": self.name,
            "audio": self.audio,
            "video": self.video,
            "publishing": self.publishing,
        }


def clean_display_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SignalingError("Enter a name to join the meeting.", code="bad_message")
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME_CHARS:
        raise SignalingError(
            f"Names are limited to {MAX_NAME_CHARS} characters.", code="bad_message"
        )
    return cleaned


class LiveRoom:
    def __init__(
        self,
        meeting: Meeting,
        service: MeetingService,
        on_time_up: TimeUp | None = None,
    ) -> None:
        self.meeting = meeting
        self.service = service
        self.participants: dict[str, Participant] = {}
        self._join_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_time_up = on_time_up
        self._deadline: asyncio.TimerHandle | None = None
        self.ended = False

    @property
    def empty(self) -> bool:
        return not self.participants

    async def join(
        self,
        name: object,
        send: Send,
        disconnect: Disconnect,
        *,
        password: object = None,
        token: object = None,
    ) -> Participant:
        """Admit a participant: open their publisher, send `joined`, tell the others.

        The room's password, the token and the meeting's duration are checked first;
        see `parley.meetings.access.admit`.
        """
        display = clean_display_name(name)
        if self.ended or self.service.time_is_up(self.meeting):
            raise SignalingError("The meeting has ended.", code="room_ended")
        check = functools.partial(
            admit,
            self.meeting,
            password=password,
            token=token,
            signer=self.service.tokens,
            now=self.service.clock.now(),
        )
        if token is None and self.meeting.password_hash is not None:
            # scrypt takes about 30 ms: run it off the event loop.
            claims = await asyncio.to_thread(check)
        else:
            claims = check()
        if len(self.participants) >= self.service.policy.max_publishers:
            raise SignalingError(
                "The room is full; ask someone to leave and try again.",
                code="room_full",
            )

        participant = Participant(
            id=new_id()[:16],
            name=display,
            feed_id=new_room_id(),
            send=send,
            disconnect=disconnect,
            presenter=claims is not None and claims.presenter,
        )
        async with self._join_lock:
            await self.service.ensure_room(self.meeting)
            participant.publisher = await self._open_publisher(participant)

        # Send `joined` before anything else can reach this participant, so the
        # browser never receives stream_available for someone not yet announced.
        others = self.others(participant)
        # A participant who joins after this point gets this one in its own
        # `joined`, so only those in the room now are sent participant_joined.
        earlier_ids = list(self.participants)
        self.participants[participant.id] = participant
        await send(
            {
                "type": "joined",
                "you": participant.describe(),
                "participants": others,
                "room": {"slug": self.meeting.slug, "title": self.meeting.title},
            }
        )
        await self.service.store.add_participant(
            self.meeting, participant.id, display, self.service.clock.now()
        )
        logger.info(
            "%s joined meeting %s (%d in the room)",
            participant.id,
            self.meeting.slug,
            len(self.participants),
        )
        frame = {"type": "participant_joined", "participant": participant.describe()}
        for other_id in earlier_ids:
            other = self.participants.get(other_id)
            if other is not None:
                await other.send(frame)
        await self.service.mark_started(self.meeting)
        self.arm_deadline()
        await self._report_participants()
        return participant

    async def _open_publisher(self, participant: Participant) -> PublisherLink:
        publisher = await self.service.gateway.open_publisher(participant.feed_id)
        try:
            await publisher.join(self.meeting.janus_room_id, participant.name)
        except JanusError:
            await publisher.close()
            raise
        publisher.on_event(
            lambda kind, data: self._on_publisher_event(participant, kind, data)
        )
        return publisher

    def others(self, participant: Participant) -> list[dict[str, Any]]:
        return [
            other.describe()
            for other in self.participants.values()
            if other.id != participant.id
        ]

    async def publish(self, participant: Participant, offer: Jsep) -> Jsep:
        assert participant.publisher is not None
        return await participant.publisher.publish(offer)

    async def subscribe(self, participant: Participant, target_id: object) -> Jsep:
        """Open a subscriber to another participant's feed and return Janus's offer."""
        target = self._find(target_id)
        if not target.publishing:
            raise SignalingError(
                f"Participant {target.id} is not publishing yet.",
                code="unknown_participant",
            )

        old = participant.subscribers.pop(target.id, None)
        if old is not None:
            await old.close()

        subscriber = await self.service.gateway.open_subscriber()
        try:
            offer = await subscriber.join(self.meeting.janus_room_id, target.feed_id)
        except JanusError:
            await subscriber.close()
            raise
        participant.subscribers[target.id] = subscriber
        return offer

    async def answer(
        self, participant: Participant, target_id: object, answer: Jsep
    ) -> None:
        await self._subscriber(participant, target_id).start(answer)

    async def trickle(
        self,
        participant: Participant,
        target_id: object,
        candidate: dict[str, Any] | None,
    ) -> None:
        if target_id is None:
            assert participant.publisher is not None
            await participant.publisher.trickle(candidate)
            return
        await self._subscriber(participant, target_id).trickle(candidate)

    async def set_media(
        self, participant: Participant, *, audio: bool, video: bool
    ) -> None:
        participant.audio = audio
        participant.video = video
        if participant.publisher is not None and participant.publishing:
            await participant.publisher.set_media(audio=audio, video=video)
        await self._broadcast(
            {"type": "participant_updated", "participant": participant.describe()}
        )

    async def leave(self, participant: Participant) -> None:
        """Remove a participant, tell the others, then close their Janus links."""
        if self.participants.pop(participant.id, None) is None:
            return
        logger.info(
            "%s left meeting %s (%d in the room)",
            participant.id,
            self.meeting.slug,
            len(self.participants),
        )
        await self._broadcast(
            {"type": "participant_left", "participant": participant.id}
        )

        await self._close_links(participant)
        for other in self.participants.values():
            subscriber = other.subscribers.pop(participant.id, None)
            if subscriber is not None:
                await _close_quietly(subscriber)

        await self.service.store.mark_participant_left(
            participant.id, self.service.clock.now()
        )
        if not self.ended:
            await self._report_participants()

    async def _report_participants(self) -> None:
        names = [participant.name for participant in self.participants.values()]
        await self.service.participants_changed(self.meeting, names)

    def arm_deadline(self) -> None:
        """Schedule the meeting's end at its `ends_at`, replacing any earlier timer.

        NOTE: the timer lives in this process only. After a restart the meeting ends
        at the first request that finds its time is up, not at `ends_at` itself.
        """
        self.disarm_deadline()
        if self.meeting.ends_at is None or self._on_time_up is None or self.ended:
            return
        delay = (self.meeting.ends_at - self.service.clock.now()).total_seconds()
        loop = asyncio.get_running_loop()
        on_time_up = self._on_time_up
        self._deadline = loop.call_later(
            max(delay, 0.0), lambda: self._spawn(on_time_up())
        )

    def disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    async def end(self, reason: str) -> None:
        """Tell everyone the meeting is over, then let go of each participant."""
        self.ended = True
        self.disarm_deadline()
        await self._broadcast({"type": "room_ended", "reason": reason})
        for participant in list(self.participants.values()):
            await self.leave(participant)
            await participant.disconnect()

    async def _close_links(self, participant: Participant) -> None:
        for subscriber in participant.subscribers.values():
            await _close_quietly(subscriber)
        participant.subscribers.clear()
        if participant.publisher is not None:
            await _close_quietly(participant.publisher)
            participant.publisher = None

    def _find(self, participant_id: object) -> Participant:
        participant = self.participants.get(str(participant_id))
        if participant is None:
            raise SignalingError(
                f"No participant {participant_id!r} in this room.",
                code="unknown_participant",
            )
        return participant

    def _subscriber(
        self, participant: Participant, target_id: object
    ) -> SubscriberLink:
        subscriber = participant.subscribers.get(str(target_id))
        if subscriber is None:
            raise SignalingError(
                f"Not subscribed to participant {target_id!r}; send subscribe first.",
                code="unknown_participant",
            )
        return subscriber

    def _on_publisher_event(
        self, participant: Participant, kind: str, data: dict[str, Any]
    ) -> None:
        # Janus calls back from its reader task; announcements go out in a task of
        # their own so a slow browser cannot stall the Janus connection.
        if participant.id not in self.participants:
            return  # a late event for someone who left; the others heard they left
        if kind == "webrtcup" and not participant.publishing:
            participant.publishing = True
            self._spawn(self._announce_stream(participant))
        elif kind == "hangup" and participant.publishing:
            participant.publishing = False
            self._spawn(
                self._broadcast(
                    {
                        "type": "participant_updated",
                        "participant": participant.describe(),
                    }
                )
            )

    async def _announce_stream(self, participant: Participant) -> None:
        if participant.id not in self.participants:
            return
        await self._broadcast(
            {"type": "participant_updated", "participant": participant.describe()}
        )
        await self._broadcast(
            {"type": "stream_available", "participant": participant.id},
            exclude=participant.id,
        )

    async def _broadcast(
        self, frame: dict[str, Any], *, exclude: str | None = None
    ) -> None:
        for other in list(self.participants.values()):
            if other.id != exclude:
                await other.send(frame)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _close_quietly(link: PublisherLink | SubscriberLink) -> None:
    try:
        await link.close()
    except JanusError as error:
        # The link is gone either way; a Janus that cannot close it has lost it already.
        logger.warning("Closing a Janus handle failed: %s", error)


class LiveRooms:
    """The live rooms of this process, by slug.

    A meeting started from a channel ends by itself once it is empty: `grace`
    after its last participant left, or `UNJOINED_LIMIT` after it was created if
    nobody ever joined.
    """

    def __init__(
        self, service: MeetingService, *, grace: timedelta = timedelta(minutes=2)
    ) -> None:
        self.service = service
        self.grace = grace
        self._rooms: dict[str, LiveRoom] = {}
        self._empty_timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started_at = service.clock.now()

    def get(self, meeting: Meeting) -> LiveRoom:
        self._disarm_empty_timer(meeting.slug)
        room = self._rooms.get(meeting.slug)
        if room is None:
            room = self._rooms[meeting.slug] = LiveRoom(
                meeting, self.service, lambda: self._end_in_time(meeting)
            )
        return room

    def find(self, slug: str) -> LiveRoom | None:
        return self._rooms.get(slug)

    def rooms(self) -> list[LiveRoom]:
        return list(self._rooms.values())

    def release(self, room: LiveRoom) -> None:
        if room.empty and self._rooms.get(room.meeting.slug) is room:
            room.disarm_deadline()
            del self._rooms[room.meeting.slug]
            if room.meeting.ends_when_empty and not room.ended:
                self._arm_empty_timer(room.meeting, self.grace)

    def watch(self, meeting: Meeting) -> None:
        """End a meeting that ends when empty if it stays empty long enough.

        Called for a new meeting, and at start for every open one, since a
        restart leaves every room empty.
        """
        if not meeting.ends_when_empty or meeting.slug in self._rooms:
            return
        if meeting.started_at is not None:
            self._arm_empty_timer(meeting, self.grace)
            return
        waited = self.service.clock.now() - meeting.created_at
        self._arm_empty_timer(meeting, max(UNJOINED_LIMIT - waited, timedelta(0)))

    def _arm_empty_timer(self, meeting: Meeting, delay: timedelta) -> None:
        self._disarm_empty_timer(meeting.slug)
        loop = asyncio.get_running_loop()
        slug = meeting.slug
        self._empty_timers[slug] = loop.call_later(
            delay.total_seconds(), lambda: self._spawn(self._end_empty(slug))
        )

    def _disarm_empty_timer(self, slug: str) -> None:
        timer = self._empty_timers.pop(slug, None)
        if timer is not None:
            timer.cancel()

    async def _end_empty(self, slug: str) -> None:
        self._empty_timers.pop(slug, None)
        if slug in self._rooms:
            return  # someone came back
        try:
            meeting = await self.service.find_open_meeting(slug)
        except (RoomNotFound, RoomEnded):
            return  # ended some other way meanwhile
        if await self._present_elsewhere(meeting):
            self._arm_empty_timer(meeting, self.grace)
            return
        logger.info("Meeting %s is empty; ending it", slug)
        await self.service.end_meeting(meeting)

    async def _present_elsewhere(self, meeting: Meeting) -> bool:
        """Return whether someone is in the meeting through another Parley process.

        Participants who joined since this process started and have not left must
        be connected to another process on the same database. Older rows without a
        leave time are left over from a process that stopped without recording it.
        """
        # TODO: a participant of another process who joined before this process
        # started looks like such a leftover, so a restart here can still end a
        # meeting that is live elsewhere. Telling them apart needs a heartbeat per
        # process in the database.
        records = await self.service.store.list_participants(meeting)
        return any(
            record.left_at is None and record.joined_at >= self._started_at
            for record in records
        )

    def apply_access(self, meeting: Meeting) -> None:
        """Give the live room, if any, the meeting's new password and duration."""
        room = self._rooms.get(meeting.slug)
        if room is None or room.meeting.id != meeting.id:
            return
        room.meeting.password_hash = meeting.password_hash
        room.meeting.duration = meeting.duration
        room.meeting.ends_at = meeting.ends_at
        if not room.empty:
            room.arm_deadline()

    async def _end_in_time(self, meeting: Meeting) -> None:
        if self._rooms.get(meeting.slug) is None:
            return
        logger.info("Meeting %s reached its duration", meeting.slug)
        await self.end_meeting(meeting, reason="time_up")

    async def end_meeting(self, meeting: Meeting, *, reason: str = "ended") -> None:
        """End a meeting for everyone: close its live room, then release the room."""
        self._disarm_empty_timer(meeting.slug)
        room = self._rooms.pop(meeting.slug, None)
        if room is not None:
            await room.end(reason)
        await self.service.end_meeting(meeting)

    def close(self) -> None:
        """Cancel every timer, as at shutdown; `watch` arms them again at start."""
        for timer in self._empty_timers.values():
            timer.cancel()
        self._empty_timers.clear()
        for room in self._rooms.values():
            room.disarm_deadline()

    def count_participants(self) -> int:
        return sum(len(room.participants) for room in self._rooms.values())

    def __len__(self) -> int:
        return len(self._rooms)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
