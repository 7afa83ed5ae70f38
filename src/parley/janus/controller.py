"""The one object the rest of Parley uses to reach Janus.

It starts Janus when Parley manages it, keeps a connection open and reopens it
after Janus restarts or an external Janus comes back, and reports health.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from parley.errors import JanusError, JanusUnavailable
from parley.janus.gateway import JanusGateway
from parley.janus.supervisor import JanusSupervisor
from parley.janus.videoroom import VideoRoomControl

logger = logging.getLogger(__name__)

ReconnectListener = Callable[[], Awaitable[None] | None]
"""Called after each reconnect; may be a coroutine function."""


class JanusController:
    """Janus for the rest of Parley: a supervised or external Janus, kept connected.

    After a reconnect every session and handle of the old connection is gone, and
    after a Janus restart every room is gone too, because Parley creates rooms
    with `permanent: false`. Reconnect listeners are notified so they can act on it.
    """

    def __init__(
        self,
        url: str,
        supervisor: JanusSupervisor | None,
        *,
        request_timeout: float = 5.0,
        retry_delay: float = 0.5,
        max_retry_delay: float = 10.0,
    ) -> None:
        self.url = url
        self.supervisor = supervisor
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay

        self._gateway = JanusGateway(url, request_timeout=request_timeout)
        self._gateway.add_disconnect_listener(self._on_disconnect)
        self._rooms = VideoRoomControl(self._gateway)
        self._reconnect_listeners: list[ReconnectListener] = []
        self._ready = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._detail = "Janus is not started."
        self._version = ""

    @property
    def gateway(self) -> JanusGateway:
        """The connection to Janus; the same object across reconnects."""
        return self._gateway

    @property
    def rooms(self) -> VideoRoomControl:
        """Room management, which opens its own session again after a reconnect."""
        return self._rooms

    @property
    def ready(self) -> bool:
        """Whether the connection to Janus is open, and to our Janus if we run one.

        A managed Janus that is not running cannot be what listens on its port. That
        is some other process, whose rooms Parley must not hand out.
        """
        if self.supervisor is not None and self.supervisor.status.state != "running":
            return False
        return self._ready.is_set()

    def add_reconnect_listener(self, callback: ReconnectListener) -> None:
        """Call `callback` after each reconnect, not after the first connection."""
        self._reconnect_listeners.append(callback)

    async def start(self) -> None:
        """Start Janus if managed, then connect, retrying in the background.

        Does not raise when Janus is down or not installed, because `ready` and
        status() report that.
        """
        if self._task is not None:
            raise RuntimeError("The Janus controller is already started.")

        if self.supervisor is not None:
            try:
                await self.supervisor.start()
            except JanusUnavailable as exc:
                # The supervisor has logged why, and keeps restarting Janus
                # unless it is not installed.
                self._detail = str(exc)
                if self.supervisor.status.state == "missing":
                    return

        self._task = asyncio.create_task(self._stay_connected())
        await self._first_attempt.wait()

    async def stop(self) -> None:
        """Disconnect from Janus, and stop it if managed."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self._ready.clear()
        with contextlib.suppress(JanusError):
            await self._rooms.close()
        await self._gateway.close()
        if self.supervisor is not None:
            await self.supervisor.stop()
        self._detail = "Janus is stopped."

    async def wait_ready(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait up to `timeout` seconds until `ready`; return it."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._ready.wait()
                # The supervisor marks Janus running only after its own probe, which
                # can finish a moment after our connection opened.
                while not self.ready:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        return self.ready

    def status(self) -> dict[str, Any]:
        """Health for GET /healthz.

        Keys: `janus` ("ok" or "unavailable"), `detail` (a sentence for people),
        `url`, `managed`, `restarts`, and `state` and `pid` (the supervisor's) when
        managed.
        """
        status: dict[str, Any] = {
            "janus": "ok" if self.ready else "unavailable",
            "detail": self._detail,
            "url": self.url,
            "managed": self.supervisor is not None,
            "restarts": 0,
        }
        if self.supervisor is not None:
            supervised = self.supervisor.status
            status["state"] = supervised.state
            status["pid"] = supervised.pid
            status["restarts"] = supervised.restarts
            if not self.ready and supervised.state != "running":
                status["detail"] = supervised.message
        return status

    async def _stay_connected(self) -> None:
        # runs until stop() cancels it
        connections = 0
        while True:
            await self._connect_with_retries()
            connections += 1
            if connections > 1:
                await self._notify_reconnected()

            await self._disconnected.wait()
            self._ready.clear()
            self._detail = f"Lost the connection to Janus at {self.url}."

    async def _connect_with_retries(self) -> None:
        failures = 0
        last_failure = ""
        while True:
            try:
                await self._connect()
                return
            except JanusError as exc:
                failure = str(exc)
                self._detail = failure

            # one log line per kind of failure, not one per attempt
            if failure != last_failure:
                logger.warning("%s Retrying in the background.", failure)
                last_failure = failure
            self._first_attempt.set()
            delay = min(self.retry_delay * 2.0**failures, self.max_retry_delay)
            failures += 1
            await asyncio.sleep(delay)

    async def _connect(self) -> None:
        self._disconnected.clear()
        await self._gateway.connect()
        try:
            info = await self._gateway.info()
        except JanusError:
            await self._gateway.close()
            raise

        self._version = str(info.get("version_string", ""))
        self._detail = f"Connected to Janus {self._version} at {self.url}."
        self._ready.set()
        self._first_attempt.set()

    def _on_disconnect(self) -> None:
        self._disconnected.set()

    async def _notify_reconnected(self) -> None:
        logger.info("Reconnected to Janus at %s", self.url)
        for callback in self._reconnect_listeners:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("A Janus reconnect listener failed")
