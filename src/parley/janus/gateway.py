"""One WebSocket connection to the Janus API, shared by sessions and handles.

Janus copies each request's `transaction` id into its replies, so a single
connection carries all sessions: each request waits on its own transaction, and
messages without a pending transaction are events for the handle named in `sender`.

Only request names, transactions and ids are logged, never SDP, ICE candidates or
message bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from parley.errors import JanusPluginError, JanusUnavailable

logger = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("janus-protocol")
VIDEOROOM = "janus.plugin.videoroom"

KEEPALIVE_INTERVAL = 25.0
"""Seconds between keepalives; Janus destroys a silent session after 60 s by default."""

EventCallback = Callable[["JanusEvent"], None]
"""Called with each unsolicited event on a handle. It must not block: to do async
work, create a task or put the event on a queue."""

DisconnectCallback = Callable[[], None]


@dataclass(frozen=True)
class JanusEvent:
    """A message from Janus about one handle.

    `data` is the plugin's data (`plugindata.data`) for kind "event", and the whole
    Janus message for the other kinds.
    """

    kind: str
    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


@dataclass
class _Transaction:
    verb: str
    replies: asyncio.Queue[dict[str, Any] | JanusUnavailable]


class JanusGateway:
    """A WebSocket connection to Janus, multiplexing sessions by transaction."""

    def __init__(
        self,
        url: str,
        *,
        request_timeout: float = 5.0,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
    ) -> None:
        self.url = url
        self.request_timeout = request_timeout
        self.keepalive_interval = keepalive_interval
        # Counts the connections opened: sessions from an older one are gone.
        self.generation = 0

        self._connection: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._transactions: dict[str, _Transaction] = {}
        self._sessions: dict[int, JanusSession] = {}
        self._handles: dict[int, JanusHandle] = {}
        self._disconnect_listeners: list[DisconnectCallback] = []

    @property
    def connected(self) -> bool:
        """Whether the WebSocket connection is open."""
        return self._connection is not None

    def add_disconnect_listener(self, callback: DisconnectCallback) -> None:
        """Call `callback` once each time the connection drops without close()."""
        self._disconnect_listeners.append(callback)

    async def connect(self) -> None:
        """Open the WebSocket connection to Janus.

        Sessions of an earlier connection are not carried over, because Janus
        destroys them when their connection closes.
        """
        if self._connection is not None:
            raise RuntimeError(f"Already connected to Janus at {self.url}.")

        try:
            connection = await connect(
                self.url,
                subprotocols=[SUBPROTOCOL],
                open_timeout=self.request_timeout,
            )
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            reason = _describe_connect_error(exc, self.request_timeout)
            raise JanusUnavailable(
                f"Cannot connect to Janus at {self.url}: {reason}; is it running?",
                url=self.url,
            ) from exc
        except InvalidURI as exc:
            raise JanusUnavailable(
                f"Janus URL {self.url!r} is invalid; use ws://host:port.",
                url=self.url,
            ) from exc

        self._connection = connection
        self._closing = False
        self.generation += 1
        self._reader = asyncio.create_task(self._read(connection))
        logger.info("Connected to Janus at %s", self.url)

    async def close(self) -> None:
        """Close the connection; pending requests fail with JanusUnavailable."""
        connection, reader = self._connection, self._reader
        if connection is None:
            return

        self._closing = True
        await connection.close()
        if reader is not None:
            await reader

    async def info(self) -> dict[str, Any]:
        """Send Janus's `info` request and return its `server_info` reply."""
        return await self._send({"janus": "info"}, final={"server_info"})

    async def create_session(self) -> JanusSession:
        """Create a Janus session, which sends its own keepalives until destroyed."""
        reply = await self._send({"janus": "create"}, final={"success"})
        session = JanusSession(self, int(reply["data"]["id"]))
        self._sessions[session.id] = session
        return session

    async def _send(
        self,
        message: dict[str, Any],
        *,
        final: Collection[str],
        # A parameter rather than asyncio.timeout() at the caller, so that silence
        # raises JanusUnavailable naming the URL instead of a bare TimeoutError.
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Send `message` and return the first reply whose kind is in `final`.

        Raises JanusPluginError when Janus replies with `error`, and
        JanusUnavailable when the connection is down, drops or stays silent.
        """
        verb = _verb(message)
        connection = self._require_connection(verb)
        transaction = secrets.token_hex(6)
        pending = _Transaction(verb, asyncio.Queue())
        self._transactions[transaction] = pending
        timeout = self.request_timeout if timeout is None else timeout

        try:
            await connection.send(json.dumps({**message, "transaction": transaction}))
            _log_sent(message, transaction)
            async with asyncio.timeout(timeout):
                return await self._wait_for_reply(pending, final)
        except TimeoutError:
            raise JanusUnavailable(
                f"Janus did not answer within {timeout:g} s at {self.url}; "
                "is it running?",
                url=self.url,
            ) from None
        except ConnectionClosed as exc:
            raise self._lost_connection_error(verb) from exc
        finally:
            del self._transactions[transaction]

    async def _wait_for_reply(
        self, pending: _Transaction, final: Collection[str]
    ) -> dict[str, Any]:
        # Replies may come in any order: a plugin's error event can arrive before
        # the `ack` of the same transaction.
        while True:
            reply = await pending.replies.get()
            if isinstance(reply, JanusUnavailable):
                raise reply

            kind = reply.get("janus")
            if kind == "error":
                error = reply.get("error", {})
                raise _rejected(pending.verb, error.get("code"), error.get("reason"))
            if kind in final:
                return reply

    def _require_connection(self, verb: str) -> ClientConnection:
        if self._connection is None:
            raise JanusUnavailable(
                f"Cannot send {verb!r}: not connected to Janus at {self.url}.",
                url=self.url,
            )
        return self._connection

    def _lost_connection_error(self, verb: str) -> JanusUnavailable:
        return JanusUnavailable(
            f"Lost the connection to Janus at {self.url} before it answered {verb!r}.",
            url=self.url,
        )

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for raw in connection:
                self._dispatch(raw)
        except ConnectionClosed:
            pass
        finally:
            self._forget_connection()

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            logger.warning("Ignoring a Janus message that is not JSON")
            return
        if not isinstance(message, dict):
            logger.warning("Ignoring a Janus message that is not a JSON object")
            return

        kind = message.get("janus")
        transaction = message.get("transaction")
        logger.debug("Janus sent %r transaction=%s", kind, transaction)

        # a reply to a request that is still waiting
        pending = self._transactions.get(transaction) if transaction else None
        if pending is not None:
            pending.replies.put_nowait(message)
            return

        # a late reply, such as the `ack` that follows an event
        if transaction:
            return

        if kind == "timeout":
            self._expire_session(message.get("session_id"))
            return

        self._dispatch_event(kind, message)

    def _dispatch_event(self, kind: Any, message: dict[str, Any]) -> None:
        handle = self._handles.get(message.get("sender"))  # type: ignore[arg-type]
        if handle is None:
            logger.debug("Ignoring Janus %r for an unknown handle", kind)
            return

        if kind == "event":
            data = message.get("plugindata", {}).get("data", {})
            event = JanusEvent("event", data, message.get("jsep"))
        else:
            event = JanusEvent(str(kind), message)
        if kind == "detached":
            self._handles.pop(handle.id, None)
        handle._notify(event)

    def _expire_session(self, session_id: Any) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return

        logger.warning("Janus session %s timed out; its handles are gone", session_id)
        session._invalidate()
        self._forget_handles(session)

    def _forget_connection(self) -> None:
        if self._connection is None:
            return

        self._connection = None
        self._reader = None
        for pending in self._transactions.values():
            pending.replies.put_nowait(self._lost_connection_error(pending.verb))
        for session in self._sessions.values():
            session._invalidate()
        self._sessions.clear()
        self._handles.clear()

        if self._closing:
            logger.info("Closed the connection to Janus at %s", self.url)
            return
        logger.warning("Lost the connection to Janus at %s", self.url)
        for callback in self._disconnect_listeners:
            try:
                callback()
            except Exception:
                logger.exception("A Janus disconnect listener failed")

    def _forget_handles(self, session: JanusSession) -> None:
        for handle_id, handle in list(self._handles.items()):
            if handle.session is session:
                del self._handles[handle_id]


class JanusSession:
    """A Janus session: a container of handles, kept alive by keepalives."""

    def __init__(self, gateway: JanusGateway, session_id: int) -> None:
        self.id = session_id
        self.gateway = gateway
        self._generation = gateway.generation
        self._closed = False
        self._keepalive = asyncio.create_task(self._send_keepalives())

    @property
    def alive(self) -> bool:
        """Whether Janus still has this session: not destroyed, expired or cut off."""
        return (
            not self._closed
            and self.gateway.connected
            and self.gateway.generation == self._generation
        )

    async def attach(self, plugin: str = VIDEOROOM) -> JanusHandle:
        """Attach a handle to `plugin` in this session."""
        message = {"janus": "attach", "session_id": self.id, "plugin": plugin}
        reply = await self.gateway._send(message, final={"success"})
        handle = JanusHandle(self, int(reply["data"]["id"]), plugin)
        self.gateway._handles[handle.id] = handle
        return handle

    async def destroy(self) -> None:
        """Destroy the session and its handles; a no-op if it is already gone."""
        was_alive = self.alive
        self._invalidate()
        self.gateway._sessions.pop(self.id, None)
        self.gateway._forget_handles(self)
        if was_alive:
            await self.gateway._send(
                {"janus": "destroy", "session_id": self.id}, final={"success"}
            )

    def _invalidate(self) -> None:
        self._closed = True
        self._keepalive.cancel()

    async def _send_keepalives(self) -> None:
        message = {"janus": "keepalive", "session_id": self.id}
        while True:
            await asyncio.sleep(self.gateway.keepalive_interval)
            try:
                await self.gateway._send(message, final={"ack"})
            except JanusPluginError as exc:
                logger.warning(
                    "Stopped keepalives for Janus session %s: %s", self.id, exc
                )
                return
            except JanusUnavailable as exc:
                # A lost connection cancels this task, so this is a slow Janus.
                logger.warning(
                    "Keepalive for Janus session %s failed: %s", self.id, exc
                )


class JanusHandle:
    """A handle: one session's attachment to a Janus plugin."""

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.id = handle_id
        self.session = session
        self.plugin = plugin
        self._listeners: list[EventCallback] = []

    def on_event(self, callback: EventCallback) -> None:
        """Call `callback` with each unsolicited event on this handle."""
        self._listeners.append(callback)

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a synchronous plugin request and return the plugin's data."""
        reply = await self.session.gateway._send(
            self._envelope("message", body=body), final={"success", "event"}
        )
        return _plugin_data(body, reply)

    async def message(
        self,
        body: dict[str, Any],
        jsep: dict[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> JanusEvent:
        """Send an asynchronous plugin request and return the event that ends it."""
        envelope = self._envelope("message", body=body)
        if jsep is not None:
            envelope["jsep"] = jsep

        reply = await self.session.gateway._send(
            envelope, final={"event", "success"}, timeout=timeout
        )
        return JanusEvent("event", _plugin_data(body, reply), reply.get("jsep"))

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """Send one ICE candidate, or None once gathering has completed."""
        payload = {"completed": True} if candidate is None else candidate
        await self.session.gateway._send(
            self._envelope("trickle", candidate=payload), final={"ack"}
        )

    async def detach(self) -> None:
        """Detach the handle from its plugin; Janus hangs up its peer connection."""
        self.session.gateway._handles.pop(self.id, None)
        await self.session.gateway._send(self._envelope("detach"), final={"success"})

    def _envelope(self, verb: str, **fields: Any) -> dict[str, Any]:
        return {
            "janus": verb,
            "session_id": self.session.id,
            "handle_id": self.id,
            **fields,
        }

    def _notify(self, event: JanusEvent) -> None:
        for callback in self._listeners:
            try:
                callback(event)
            except Exception:
                logger.exception(
                    "An event listener of Janus handle %s failed on %r",
                    self.id,
                    event.kind,
                )


def _plugin_data(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error_code" in data or "error" in data:
        raise _rejected(body.get("request"), data.get("error_code"), data.get("error"))
    return data


def _rejected(verb: Any, code: Any, reason: Any) -> JanusPluginError:
    code = int(code) if isinstance(code, int) else 0
    reason = str(reason) if reason else "no reason given"
    return JanusPluginError(
        f"Janus rejected {verb!r}: {reason} (error {code}).", code=code, reason=reason
    )


def _verb(message: dict[str, Any]) -> str:
    body = message.get("body")
    if isinstance(body, dict) and "request" in body:
        return str(body["request"])
    return str(message["janus"])


def _log_sent(message: dict[str, Any], transaction: str) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug(
        "Sent %r transaction=%s session=%s handle=%s%s",
        _verb(message),
        transaction,
        message.get("session_id"),
        message.get("handle_id"),
        " with a jsep" if "jsep" in message else "",
    )


def _describe_connect_error(exc: Exception, timeout: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)
