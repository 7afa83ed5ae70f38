"""Janus as Parley's media gateway: the `MediaGateway` Protocol over JanusController.

All participant handles live in one Janus session, opened on first use and again after
a reconnect, since Janus drops a connection's sessions when the connection drops.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from parley.config import Settings
from parley.janus.controller import JanusController
from parley.janus.gateway import JanusEvent, JanusSession
from parley.janus.jcfg import JanusProcessSettings
from parley.janus.supervisor import JanusSupervisor
from parley.janus.videoroom import Publisher, Subscriber
from parley.types import Jsep, MediaEventCallback


class JanusPublisherLink:
    def __init__(self, publisher: Publisher, feed_id: int) -> None:
        self.publisher = publisher
        self.feed_id = feed_id

    async def join(self, room_id: int, display: str) -> None:
        await self.publisher.join(room_id, self.feed_id, display)

    async def publish(self, offer: Jsep) -> Jsep:
        answer = await self.publisher.publish(dict(offer))
        return cast(Jsep, {"type": answer["type"], "sdp": answer["sdp"]})

    async def set_media(self, *, audio: bool, video: bool) -> None:
        await self.publisher.set_media(audio, video)

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        await self.publisher.trickle(candidate)

    async def close(self) -> None:
        await self.publisher.close()

    def on_event(self, callback: MediaEventCallback) -> None:
        def forward(event: JanusEvent) -> None:
            callback(event.kind, event.data)

        self.publisher.on_event(forward)


class JanusSubscriberLink:
    def __init__(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber

    async def join(self, room_id: int, feed_id: int) -> Jsep:
        offer = await self.subscriber.join(room_id, feed_id)
        return cast(Jsep, {"type": offer["type"], "sdp": offer["sdp"]})

    async def start(self, answer: Jsep) -> None:
        await self.subscriber.start(dict(answer))

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        await self.subscriber.trickle(candidate)

    async def close(self) -> None:
        await self.subscriber.close()


class JanusMediaGateway:
    def __init__(self, controller: JanusController) -> None:
        self.controller = controller
        self._session: JanusSession | None = None
        self._session_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> JanusMediaGateway:
        """Drive the external Janus at `janus.url`, or run and supervise our own."""
        janus = settings.janus
        if janus.url is not None:
            return cls(JanusController(janus.url, None))

        # Named by the WebSocket port, which no two Janus processes share, so that
        # Parley processes sharing one data directory keep their Janus apart.
        data_dir = settings.server.data_dir.resolve()
        process = JanusProcessSettings(
            config_dir=data_dir / f"janus-{janus.ws_port}",
            ws_port=janus.ws_port,
            rtp_port_range=janus.rtp_port_range,
            ice_interfaces=list(janus.interfaces),
            nat_1_1_mapping=janus.nat_1_1_mapping,
            stun_server=janus.stun_server,
            log_file=data_dir / f"janus-{janus.ws_port}.log",
        )
        supervisor = JanusSupervisor(process, binary=janus.binary)
        return cls(JanusController(process.ws_url, supervisor))

    @property
    def ready(self) -> bool:
        return self.controller.ready

    def status(self) -> dict[str, Any]:
        return self.controller.status()

    async def wait_ready(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await self.controller.wait_ready(timeout)

    async def start(self) -> None:
        await self.controller.start()

    async def stop(self) -> None:
        await self.controller.stop()

    async def create_room(
        self, room_id: int, *, description: str, max_publishers: int, bitrate: int
    ) -> None:
        await self.controller.rooms.create_room(
            room_id,
            description=description,
            max_publishers=max_publishers,
            bitrate=bitrate,
        )

    async def destroy_room(self, room_id: int) -> None:
        await self.controller.rooms.destroy_room(room_id)

    async def room_exists(self, room_id: int) -> bool:
        return await self.controller.rooms.room_exists(room_id)

    async def open_publisher(self, feed_id: int) -> JanusPublisherLink:
        publisher = await Publisher.attach(await self._media_session())
        return JanusPublisherLink(publisher, feed_id)

    async def open_subscriber(self) -> JanusSubscriberLink:
        subscriber = await Subscriber.attach(await self._media_session())
        return JanusSubscriberLink(subscriber)

    async def _media_session(self) -> JanusSession:
        async with self._session_lock:
            if self._session is None or not self._session.alive:
                self._session = await self.controller.gateway.create_session()
            return self._session
