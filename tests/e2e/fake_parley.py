"""Parley's side of the meeting page, played by Playwright routes: no server, no Janus.

The page and its modules are served from `src/parley/static` through `route`. The
signaling WebSocket is handled through `route_web_socket`, so a test can send any
frame (a departure, a fatal error, the end of the room) and read every frame the
page sends. The origin is `http://localhost`, which browsers treat as a secure
context, so the camera may be opened.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Route, WebSocketRoute

import parley

STATIC = Path(parley.__file__).resolve().parent / "static"
ORIGIN = "http://localhost:8097"


class FakeParley:
    """Serves one room's meeting page and plays the server side of its signaling.

    The reply to `join` is a `joined` frame listing `others`; every other frame is only
    recorded in `received`.
    """

    def __init__(self, context: BrowserContext, slug: str = "demo") -> None:
        self.slug = slug
        self.title = "Standup"
        self.you = participant("p-you", "You")
        self.others: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.socket: WebSocketRoute | None = None
        context.route(f"{ORIGIN}/**", self._serve)
        context.route_web_socket(
            f"{self.link.replace('http', 'ws')}/signal", self._accept
        )

    @property
    def link(self) -> str:
        return f"{ORIGIN}/join/{self.slug}"

    def send(self, frame: dict[str, Any]) -> None:
        assert self.socket is not None, "the page has not opened its WebSocket"
        self.socket.send(json.dumps(frame))

    def close(self, code: int = 1011) -> None:
        assert self.socket is not None, "the page has not opened its WebSocket"
        self.socket.close(code=code)

    def received_types(self) -> list[str]:
        return [frame["type"] for frame in self.received]

    def _serve(self, route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path == f"/join/{self.slug}":
            page = (STATIC / "meeting.html").read_text(encoding="utf-8")
            page = page.replace("{{room_title}}", html.escape(self.title))
            page = page.replace("{{room_slug}}", html.escape(self.slug))
            route.fulfill(body=page, content_type="text/html; charset=utf-8")
        elif path.startswith("/static/") and ".." not in path:
            route.fulfill(path=STATIC / path.removeprefix("/static/"))
        else:
            route.fulfill(status=404, body="not found")

    def _accept(self, socket: WebSocketRoute) -> None:
        self.socket = socket
        socket.on_message(self._receive)

    def _receive(self, message: str | bytes) -> None:
        frame = json.loads(message)
        self.received.append(frame)
        if frame["type"] == "join":
            self.you = {**self.you, "name": frame["name"]}
            room = {"slug": self.slug, "title": self.title}
            self.send(
                {"type": "joined", "you": self.you, "participants": self.others,
                 "room": room}
            )  # fmt: skip


def participant(participant_id: str, name: str, **state: bool) -> dict[str, Any]:
    """Build a participant as Parley describes one in its frames."""
    described = {"id": participant_id, "name": name, "audio": True, "video": True}
    return {**described, "publishing": False, **state}
