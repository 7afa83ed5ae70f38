"""`GET /healthz`: is Parley able to hold meetings right now?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    parley = request.app.state.parley
    janus = parley.gateway.status()

    try:
        meetings = await parley.service.store.count_meetings()
        database = "ok"
    except SQLAlchemyError as error:
        meetings = None
        database = f"unavailable: {type(error).__name__}"

    healthy = parley.gateway.ready and database == "ok"
    outbox = parley.outbox
    pending = None
    if outbox is not None and database == "ok":
        # Posts waiting for Mattermost. A growing number means it is unreachable
        # or rejects the bot, and the log names the cause. Meetings work either way.
        pending = await outbox.store.count_pending()
    body = {
        "status": "ok" if healthy else "unavailable",
        "janus": janus,
        "database": database,
        "meetings": meetings,
        "live_rooms": len(parley.live_rooms),
        "participants": parley.live_rooms.count_participants(),
        "mattermost_posts_pending": pending,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
