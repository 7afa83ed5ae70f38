"""The meeting page and the static files it loads, all served by Parley itself.

Nothing comes from another host, so meetings work on an air-gapped network.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from parley.errors import RoomEnded, RoomNotFound

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@lru_cache(maxsize=8)
def _template(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def render(name: str, **values: str) -> str:
    page = _template(name)
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page


# HEAD for link checkers and uptime probes; the trailing slash because people add one.
@router.api_route(
    "/join/{slug}",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
)
@router.api_route(
    "/join/{slug}/",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def meeting_page(slug: str, request: Request) -> HTMLResponse:
    service = request.app.state.parley.service
    try:
        meeting = await service.find_open_meeting(slug)
    except RoomNotFound:
        return HTMLResponse(render("not_found.html", room_slug=slug), status_code=404)
    except RoomEnded:
        return HTMLResponse(render("ended.html", room_slug=slug), status_code=410)

    page = render("meeting.html", room_title=meeting.title, room_slug=meeting.slug)
    # The page is the room's key; keep it out of shared caches.
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
