"""A fake Janus: a WebSocket server on 127.0.0.1 that tests script reply by reply."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

Message = dict[str, Any]


class FakeJanus:
    """Replies to `create`, `attach`, `keepalive` and the like as Janus does.

    A test changes the replies with on(), keyed by the `janus` field, or by
    "message:" and the body's `request` for plugin requests ("message:join").
    Replies get the request's `transaction`, `session_id` and `sender` unless
    they set them.
    """

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.url = ""
        self._replies: dict[str, list[Message]] = {}
        self._ids = itertools.count(1001)
        self._connections: set[ServerConnection] = set()
        self._arrived = asyncio.Condition()
        self._server: Server | None = None

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 at `port`, or at a free port when it is 0."""
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            port,
            subprotocols=[Subprotocol("janus-protocol")],
        )
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def on(self, key: str, replies: list[Message]) -> None:
        """Reply to each request for `key` with `replies`, in order.

        With an empty list the fake does not reply, and the test replies itself
        through send().
        """
        self._replies[key] = replies

    async def send(self, message: Message) -> None:
        """Send `message` on every open connection, as Janus sends events."""
        for connection in list(self._connections):
            await connection.send(json.dumps(message))

    async def drop(self) -> None:
        """Close every connection, as a crashing Janus would."""
        for connection in list(self._connections):
            await connection.close(code=1011, reason="fake Janus went away")

    async def wait_for(
        self,
        match: Callable[[Message], bool],
        *,
        count: int = 1,
        timeout: float = 2,  # noqa: ASYNC109
    ) -> list[Message]:
        """Wait until `count` received messages satisfy `match`; return them."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(
                lambda: len([m for m in self.received if match(m)]) >= count
            )
        return [m for m in self.received if match(m)]

    async def request(
        self,
        key: str,
        *,
        timeout: float = 2,  # noqa: ASYNC109
    ) -> Message:
        """Wait for the first request for `key` and return it."""
        found = await self.wait_for(lambda m: request_key(m) == key, timeout=timeout)
        return found[0]

    async def _serve(self, connection: ServerConnection) -> None:
        self._connections.add(connection)
        try:
            async for raw in connection:
                message = json.loads(raw)
                async with self._arrived:
                    self.received.append(message)
                    self._arrived.notify_all()
                for reply in self._answer(message):
                    await connection.send(json.dumps(reply))
        finally:
            self._connections.discard(connection)

    def _answer(self, message: Message) -> list[Message]:
        key = request_key(message)
        if key in self._replies:
            replies = self._replies[key]
        else:
            replies = self._default_replies(message)
        return [_addressed(reply, message) for reply in replies]

    def _default_replies(self, message: Message) -> list[Message]:
        verb = message["janus"]
        if verb in ("create", "attach"):
            return [{"janus": "success", "data": {"id": next(self._ids)}}]
        if verb in ("keepalive", "trickle"):
            return [{"janus": "ack"}]
        if verb in ("detach", "destroy"):
            return [{"janus": "success"}]
        if verb == "info":
            return [{"janus": "server_info", "version_string": "1.1.2"}]
        return [{"janus": "error", "error": {"code": 457, "reason": "unscripted"}}]


def success(data: Message) -> Message:
    """A synchronous plugin reply carrying `data`."""
    return {"janus": "success", "plugindata": {"plugin": "v", "data": data}}


def event(data: Message, jsep: Message | None = None) -> Message:
    """An asynchronous plugin event carrying `data`."""
    reply: Message = {"janus": "event", "plugindata": {"plugin": "v", "data": data}}
    if jsep is not None:
        reply["jsep"] = jsep
    return reply


def _addressed(reply: Message, request: Message) -> Message:
    addressed = {"transaction": request["transaction"], **reply}
    if "session_id" in request:
        addressed.setdefault("session_id", request["session_id"])
    if "handle_id" in request and reply["janus"] in ("success", "event"):
        addressed.setdefault("sender", request["handle_id"])
    return addressed


def request_key(message: Message) -> str:
    """The key of `message` for on(): "message:join", or a verb such as "attach"."""
    if message["janus"] == "message":
        return f"message:{message['body']['request']}"
    return str(message["janus"])
