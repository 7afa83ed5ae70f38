"""`/join/<slug>/signal`: the meeting page's WebSocket, translated into LiveRoom calls.

The frames are described in docs/signaling.md. This module checks their shape and
turns failures into `error` frames; the room logic lives in `parley.meetings.live`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from parley.errors import (
    JanusError,
    JanusPluginError,
    RoomEnded,
    RoomNotFound,
    SignalingError,
)
from parley.meetings.live import LiveRoom, Participant
from parley.types import Jsep

logger = logging.getLogger(__name__)

router = APIRouter()

MAX_SDP_CHARS = 64 * 1024
MAX_FRAME_CHARS = 128 * 1024
FRAME_TYPES = frozenset(
    {"join", "publish", "subscribe", "answer", "trickle", "media", "leave"}
)
# Errors after which retrying on the same socket cannot help; Parley closes it.
FATAL_CODES = frozenset({"token_expired", "token_invalid", "too_many_attempts"})
# Wrong room passwords one socket may send before Parley closes it.
MAX_PASSWORD_ATTEMPTS = 5


class Connection:
    """One browser's socket, with sends serialised so frames never interleave."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            if self.websocket.application_state is not WebSocketState.CONNECTED:
                return
            # A browser that went away mid-send is noticed by its receive loop, which
            # then leaves the room; the sender need not care.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(json.dumps(frame))

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        fatal: bool = False,
        request: str | None = None,
    ) -> None:
        """Send an error frame; `request` names the frame type that failed, if any."""
        frame: dict[str, Any] = {
            "type": "error",
            "code": code,
            "message": message,
            "fatal": fatal,
        }
        if request is not None:
            frame["request"] = request
        await self.send(frame)

    async def close(self, code: int = 1000) -> None:
        if self.websocket.application_state is not WebSocketState.CONNECTED:
            return
        # A browser that closed its tab first makes the close frame fail to send.
        # The socket is gone either way, which is all that closing is for.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.websocket.close(code)

    async def receive(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise SignalingError("Frames must be JSON text, not binary.")
        if len(text) > MAX_FRAME_CHARS:
            raise SignalingError(f"Frames are limited to {MAX_FRAME_CHARS} characters.")
        try:
            frame = json.loads(text)
        except json.JSONDecodeError:
            raise SignalingError("The frame is not valid JSON.") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise SignalingError("A frame must be a JSON object with a 'type'.")
        return frame


@router.websocket("/join/{slug}/signal")
async def signal(websocket: WebSocket, slug: str) -> None:
    parley = websocket.app.state.parley
    await websocket.accept()
    connection = Connection(websocket)

    try:
        meeting = await parley.service.find_open_meeting(slug)
    except (RoomNotFound, RoomEnded) as error:
        code = "room_ended" if isinstance(error, RoomEnded) else "room_not_found"
        await connection.send_error(code, str(error), fatal=True)
        await connection.close(4404)
        return

    room = parley.live_rooms.get(meeting)
    session = SignalingSession(room, connection)
    try:
        await session.run()
    finally:
        # Shielded: a server shutting down cancels this handler, and the others in
        # the room must still hear that this participant left.
        await asyncio.shield(session.finish())
        parley.live_rooms.release(room)
        await connection.close()


class SignalingSession:
    """The conversation with one browser, from `join` to `leave` or disconnect."""

    def __init__(self, room: LiveRoom, connection: Connection) -> None:
        self.room = room
        self.connection = connection
        self.participant: Participant | None = None
        self.wrong_passwords = 0

    async def run(self) -> None:
        while True:
            request = None
            try:
                frame = await self.connection.receive()
                request = frame["type"]
                if request == "leave":
                    return
                await self.dispatch(frame)
            except WebSocketDisconnect:
                return
            except SignalingError as error:
                fatal = error.code in FATAL_CODES
                await self.connection.send_error(
                    error.code, str(error), fatal=fatal, request=request
                )
                if fatal:
                    return
            except JanusPluginError as error:
                logger.warning(
                    "Janus rejected %s in %s: %s",
                    request,
                    self.room.meeting.slug,
                    error,
                )
                await self.connection.send_error(
                    "media_rejected",
                    f"The media server rejected the {request} request: {error.reason}.",
                    request=request,
                )
            except JanusError as error:
                logger.warning(
                    "Signaling in %s failed: %s", self.room.meeting.slug, error
                )
                await self.connection.send_error(
                    "media_unavailable",
                    "The media server did not respond; try again shortly.",
                    request=request,
                )

    async def finish(self) -> None:
        if self.participant is not None:
            await self.room.leave(self.participant)
            self.participant = None

    async def dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind not in FRAME_TYPES:
            raise SignalingError(f"Unknown frame type {kind!r}.")
        if kind == "join":
            await self._join(frame)
            return

        participant = self._joined()
        if kind == "publish":
            answer = await self.room.publish(participant, _jsep(frame, "offer"))
            await self.connection.send({"type": "published", "sdp": answer["sdp"]})
        elif kind == "subscribe":
            target = frame.get("participant")
            offer = await self.room.subscribe(participant, target)
            await self.connection.send(
                {"type": "offer", "participant": target, "sdp": offer["sdp"]}
            )
        elif kind == "answer":
            await self.room.answer(
                participant, frame.get("participant"), _jsep(frame, "answer")
            )
        elif kind == "trickle":
            await self.room.trickle(
                participant, frame.get("participant"), _candidate(frame)
            )
        elif kind == "media":
            audio, video = frame.get("audio"), frame.get("video")
            if not isinstance(audio, bool) or not isinstance(video, bool):
                raise SignalingError("'media' needs boolean 'audio' and 'video'.")
            await self.room.set_media(participant, audio=audio, video=video)

    async def _join(self, frame: dict[str, Any]) -> None:
        if self.participant is not None:
            raise SignalingError("Already joined.", code="already_joined")
        if not self.room.service.gateway.ready:
            raise SignalingError(
                "The media server is unavailable; try again in a minute.",
                code="media_unavailable",
            )
        try:
            self.participant = await self.room.join(
                frame.get("name"),
                self.connection.send,
                self.connection.close,
                password=frame.get("password"),
                token=frame.get("token"),
            )
        except SignalingError as error:
            if error.code != "password_invalid":
                raise
            self.wrong_passwords += 1
            if self.wrong_passwords >= MAX_PASSWORD_ATTEMPTS:
                # TODO: counted per socket; a client that reconnects gets 5 more
                # tries. A per-address limit like the REST API's would stop that.
                raise SignalingError(
                    f"{MAX_PASSWORD_ATTEMPTS} wrong passwords; reload to try again.",
                    code="too_many_attempts",
                ) from None
            raise

    def _joined(self) -> Participant:
        if self.participant is None:
            raise SignalingError("Send 'join' first.", code="not_joined")
        return self.participant


def _jsep(frame: dict[str, Any], kind: str) -> Jsep:
    sdp = frame.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise SignalingError(f"'{frame['type']}' needs an SDP {kind} in 'sdp'.")
    if len(sdp) > MAX_SDP_CHARS:
        raise SignalingError(f"SDP is limited to {MAX_SDP_CHARS} characters.")
    return {"type": kind, "sdp": sdp}


def _candidate(frame: dict[str, Any]) -> dict[str, Any] | None:
    candidate = frame.get("candidate")
    if candidate is None:
        return None
    if not isinstance(candidate, dict) or not isinstance(
        candidate.get("candidate"), str
    ):
        raise SignalingError("'trickle' needs a candidate object or null.")
    return {
        key: candidate[key]
        for key in ("candidate", "sdpMid", "sdpMLineIndex")
        if key in candidate
    }
