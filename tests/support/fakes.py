"""Fakes at the seams, satisfying the Protocols in parley.types."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from parley.errors import JanusPluginError, JanusUnavailable
from parley.types import Jsep, MediaEventCallback

FAKE_ANSWER_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fake answer\r\nt=0 0\r\n"
FAKE_OFFER_SDP = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=fake offer\r\nt=0 0\r\n"


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2027, 1, 15, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class RunningClock:
    """A clock that runs at real speed from a chosen start and can jump ahead.

    For tests of background tasks that wait in real time for times taken from the
    clock, such as the outbox's retries: a stopped fake clock would never make
    them due.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started)

    def advance(self, seconds: float) -> None:
        self._start += timedelta(seconds=seconds)

    def jump_to(self, moment: datetime) -> None:
        """Make `moment` the current time, from which the clock runs on."""
        self._start = moment
        self._started = time.monotonic()


class FakePublisher:
    def __init__(self, gateway: FakeMediaGateway, feed_id: int) -> None:
        self.gateway = gateway
        self.feed_id = feed_id
        self.room_id: int | None = None
        self.callbacks: list[MediaEventCallback] = []
        self.candidates: list[dict[str, Any] | None] = []
        self.media: tuple[bool, bool] = (True, True)
        self.closed = False

    async def join(self, room_id: int, display: str) -> None:
        if room_id not in self.gateway.rooms:
            raise JanusPluginError("No such room", code=426, reason="No such room")
        self.room_id = room_id

    async def publish(self, offer: Jsep) -> Jsep:
        if self.gateway.publish_error is not None:
            raise self.gateway.publish_error
        return {"type": "answer", "sdp": FAKE_ANSWER_SDP}

    async def set_media(self, *, audio: bool, video: bool) -> None:
        self.media = (audio, video)

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        self.candidates.append(candidate)

    async def close(self) -> None:
        self.closed = True

    def on_event(self, callback: MediaEventCallback) -> None:
        self.callbacks.append(callback)

    def emit(self, kind: str, data: dict[str, Any] | None = None) -> None:
        for callback in self.callbacks:
            callback(kind, data or {})


class FakeSubscriber:
    def __init__(self) -> None:
        self.feed_id: int | None = None
        self.answer: Jsep | None = None
        self.candidates: list[dict[str, Any] | None] = []
        self.closed = False

    async def join(self, room_id: int, feed_id: int) -> Jsep:
        self.feed_id = feed_id
        return {"type": "offer", "sdp": FAKE_OFFER_SDP}

    async def start(self, answer: Jsep) -> None:
        self.answer = answer

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        self.candidates.append(candidate)

    async def close(self) -> None:
        self.closed = True


class FakeMediaGateway:
    """An SFU in memory. `create_delay` slows room creation; `fail` makes it fail."""

    def __init__(self, *, create_delay: float = 0.0, fail: bool = False) -> None:
        self.create_delay = create_delay
        self.fail = fail
        self.is_ready = True
        # Raised by every publisher's publish(), to play a Janus that rejects offers.
        self.publish_error: Exception | None = None
        self.rooms: dict[int, dict[str, Any]] = {}
        self.created: list[int] = []
        self.publishers: list[FakePublisher] = []
        self.subscribers: list[FakeSubscriber] = []

    @property
    def ready(self) -> bool:
        return self.is_ready

    def status(self) -> dict[str, Any]:
        return {"janus": "ok" if self.is_ready else "unavailable", "managed": False}

    async def wait_ready(self, timeout: float) -> bool:
        return self.is_ready

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def create_room(
        self, room_id: int, *, description: str, max_publishers: int, bitrate: int
    ) -> None:
        if self.create_delay:
            await asyncio.sleep(self.create_delay)
        if self.fail:
            raise JanusUnavailable("Janus did not answer within 5 s", url="ws://fake")
        self.rooms[room_id] = {"description": description, "publishers": max_publishers}
        self.created.append(room_id)

    async def destroy_room(self, room_id: int) -> None:
        self.rooms.pop(room_id, None)

    async def room_exists(self, room_id: int) -> bool:
        return room_id in self.rooms

    async def open_publisher(self, feed_id: int) -> FakePublisher:
        publisher = FakePublisher(self, feed_id)
        self.publishers.append(publisher)
        return publisher

    async def open_subscriber(self) -> FakeSubscriber:
        subscriber = FakeSubscriber()
        self.subscribers.append(subscriber)
        return subscriber
