"""Typed helpers over videoroom handles: room management, publishers, subscribers.

Events that others will see, as Janus 1.1.2 sends them (`JanusEvent.data`):

- `{"videoroom": "joined", "room", "id", "private_id", "publishers", "attendees"}`
  is the reply to a publisher's `join`.
- `{"videoroom": "event", "room", "joining": {"id", "display"}}` when someone joins
  a room created with `notify_joining`.
- `{"videoroom": "event", "room", "publishers": [...]}` when someone starts
  publishing.
- `{"videoroom": "event", "room", "unpublished": feed_id}` when a publisher's peer
  connection hangs up or it sends `unpublish`.
- `{"videoroom": "event", "room", "leaving": feed_id}` when someone leaves, and
  `"kicked": feed_id` in place of `"leaving"` when someone is kicked.
- `{"videoroom": "event", "room", "leaving": "ok", "reason": "kicked"}` on the handle
  of the kicked participant.
- `{"videoroom": "destroyed", "room"}` on every handle in a destroyed room.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from parley.errors import JanusPluginError, JanusUnavailable
from parley.janus.gateway import (
    VIDEOROOM,
    EventCallback,
    JanusGateway,
    JanusHandle,
    JanusSession,
)

logger = logging.getLogger(__name__)

# Error codes of the Janus core and of the videoroom plugin, as Janus 1.x sends them.
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
ALREADY_JOINED = 425
ROOM_NOT_FOUND = 426
ROOM_EXISTS = 427
FEED_NOT_FOUND = 428
PUBLISHERS_FULL = 432
ID_EXISTS = 436


class VideoRoomControl:
    """Room management over one long-lived session and handle.

    The session is opened on first use, and opened again when the gateway has
    reconnected or Janus reports it gone, so callers never manage it.
    """

    def __init__(self, gateway: JanusGateway) -> None:
        self.gateway = gateway
        self._handle: JanusHandle | None = None
        self._lock = asyncio.Lock()

    async def create_room(
        self, room_id: int, *, description: str, max_publishers: int, bitrate: int
    ) -> None:
        """Create a private, temporary VP8/Opus room.

        Raises JanusPluginError with code ROOM_EXISTS when the room exists.
        """
        await self._request(
            {
                "request": "create",
                "room": room_id,
                "description": description,
                "publishers": max_publishers,
                "bitrate": bitrate,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "is_private": True,
                "permanent": False,
                "notify_joining": True,
            }
        )
        logger.debug("Created Janus room %s", room_id)

    async def destroy_room(self, room_id: int) -> None:
        """Destroy a room; its participants get a `destroyed` event.

        Raises JanusPluginError with code ROOM_NOT_FOUND when there is no such room.
        """
        await self._request({"request": "destroy", "room": room_id})
        logger.debug("Destroyed Janus room %s", room_id)

    async def room_exists(self, room_id: int) -> bool:
        """Check whether Janus has a room with this id."""
        data = await self._request({"request": "exists", "room": room_id})
        return bool(data.get("exists"))

    async def list_participants(self, room_id: int) -> list[dict[str, Any]]:
        """Return the room's participants as `{"id", "display", "publisher", ...}`."""
        data = await self._request({"request": "listparticipants", "room": room_id})
        participants: list[dict[str, Any]] = data.get("participants", [])
        return participants

    async def kick(self, room_id: int, feed_id: int) -> None:
        """Remove a participant from a room; Janus hangs up its peer connections."""
        await self._request({"request": "kick", "room": room_id, "id": feed_id})

    async def close(self) -> None:
        """Destroy the control session, if Janus still has it."""
        handle, self._handle = self._handle, None
        if handle is not None and handle.session.alive:
            await handle.session.destroy()

    async def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        handle = await self._open_handle()
        try:
            return await handle.request(body)
        except JanusPluginError as exc:
            if exc.code not in (SESSION_NOT_FOUND, HANDLE_NOT_FOUND):
                raise

        # Janus dropped the session (it timed out), so open a new one once.
        logger.info("Janus lost the room control session; opening a new one")
        self._handle = None
        handle = await self._open_handle()
        return await handle.request(body)

    async def _open_handle(self) -> JanusHandle:
        async with self._lock:
            if self._handle is not None and self._handle.session.alive:
                return self._handle

            session = await self.gateway.create_session()
            try:
                self._handle = await session.attach(VIDEOROOM)
            except (JanusPluginError, JanusUnavailable):
                await _destroy_quietly(session)
                raise
            return self._handle


class Publisher:
    """A participant's outgoing stream: a handle joined to a room as publisher."""

    def __init__(self, handle: JanusHandle) -> None:
        self.handle = handle
        self.room_id: int | None = None
        self.feed_id: int | None = None
        self.private_id: int | None = None

    @classmethod
    async def attach(cls, session: JanusSession) -> Publisher:
        """Attach a videoroom handle in `session` for a new publisher."""
        return cls(await session.attach(VIDEOROOM))

    def on_event(self, callback: EventCallback) -> None:
        """Call `callback` with each unsolicited event on this publisher's handle."""
        self.handle.on_event(callback)

    async def join(
        self, room_id: int, feed_id: int, display: str
    ) -> list[dict[str, Any]]:
        """Join `room_id` as publisher `feed_id`; return the publishers already in it.

        Each publisher is `{"id", "display", "streams": [...], ...}` as Janus sends it.
        """
        event = await self.handle.message(
            {
                "request": "join",
                "ptype": "publisher",
                "room": room_id,
                "id": feed_id,
                "display": display,
            }
        )
        self.room_id = room_id
        self.feed_id = int(event.data.get("id", feed_id))
        self.private_id = event.data.get("private_id")
        publishers: list[dict[str, Any]] = event.data.get("publishers", [])
        return publishers

    async def publish(
        self,
        offer_jsep: dict[str, Any],
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Send the browser's offer and return Janus's answer."""
        event = await self.handle.message(
            {"request": "configure", "audio": True, "video": True},
            jsep=offer_jsep,
            timeout=timeout,
        )
        if event.jsep is None:
            raise JanusPluginError(
                "Janus accepted the offer but sent no answer.",
                code=0,
                reason="no jsep in the configure event",
            )
        return event.jsep

    async def set_media(self, audio: bool, video: bool) -> None:
        """Start or stop relaying this publisher's audio and video to subscribers."""
        # Janus 1.x still honours these publisher-wide flags; per-stream control
        # would need the `mid` of each stream.
        await self.handle.message(
            {"request": "configure", "audio": audio, "video": video}
        )

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """Send one of the browser's ICE candidates, or None when it has all."""
        await self.handle.trickle(candidate)

    async def leave(self) -> None:
        """Leave the room; the others get `unpublished` and `leaving` events."""
        await self.handle.message({"request": "leave"})

    async def close(self) -> None:
        """Leave the room if still joined, then detach the handle.

        Errors are logged rather than raised, because the publisher is gone either
        way once Janus or the connection has dropped it.
        """
        try:
            if self.room_id is not None:
                self.room_id = None
                await self.leave()
            await self.handle.detach()
        except (JanusPluginError, JanusUnavailable) as exc:
            logger.debug("Closing publisher %s: %s", self.feed_id, exc)


class Subscriber:
    """A copy of one publisher's stream, received on its own handle."""

    def __init__(self, handle: JanusHandle) -> None:
        self.handle = handle
        self.room_id: int | None = None
        self.feed_id: int | None = None

    @classmethod
    async def attach(cls, session: JanusSession) -> Subscriber:
        """Attach a videoroom handle in `session` for a new subscriber."""
        return cls(await session.attach(VIDEOROOM))

    def on_event(self, callback: EventCallback) -> None:
        """Call `callback` with each unsolicited event on this subscriber's handle."""
        self.handle.on_event(callback)

    async def join(
        self, room_id: int, feed_id: int, private_id: int | None = None
    ) -> dict[str, Any]:
        """Subscribe to publisher `feed_id` in `room_id` and return Janus's offer.

        `private_id` is the subscribing participant's own publisher `private_id`,
        which lets Janus relate the subscription to that participant.
        Raises JanusPluginError with code FEED_NOT_FOUND when `feed_id` is not
        publishing.
        """
        body: dict[str, Any] = {
            "request": "join",
            "ptype": "subscriber",
            "room": room_id,
            "streams": [{"feed": feed_id}],
        }
        if private_id is not None:
            body["private_id"] = private_id

        event = await self.handle.message(body)
        if event.jsep is None:
            raise JanusPluginError(
                f"Janus sent no offer for feed {feed_id}.",
                code=0,
                reason="no jsep in the attached event",
            )
        self.room_id = room_id
        self.feed_id = feed_id
        return event.jsep

    async def start(self, answer_jsep: dict[str, Any]) -> None:
        """Send the browser's answer, so Janus starts relaying the stream."""
        await self.handle.message({"request": "start"}, jsep=answer_jsep)

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """Send one of the browser's ICE candidates, or None when it has all."""
        await self.handle.trickle(candidate)

    async def close(self) -> None:
        """Detach the handle, which ends the subscription; errors are logged."""
        try:
            await self.handle.detach()
        except (JanusPluginError, JanusUnavailable) as exc:
            logger.debug("Closing subscriber to feed %s: %s", self.feed_id, exc)


async def _destroy_quietly(session: JanusSession) -> None:
    try:
        await session.destroy()
    except (JanusPluginError, JanusUnavailable) as exc:
        logger.debug("Destroying Janus session %s: %s", session.id, exc)
