"""`POST /mattermost/actions`: clicks on the buttons of the bot's posts.

Mattermost shows the click's outcome only for a 200 reply, so a refusal the user
should read is a 200 with `ephemeral_text`. A click whose signed context does not
verify did not come from a button Parley made, and gets 403.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.mattermost.actions import ACTIONS_PATH, InvalidClick, read_click
from parley.web.slash import MAX_BODY_BYTES, error_response

logger = logging.getLogger(__name__)

router = APIRouter()


@router.post(ACTIONS_PATH, include_in_schema=False)
async def button_click(request: Request) -> JSONResponse:
    commands = request.app.state.parley.commands
    if commands.bot is None:
        return error_response(
            404,
            "not_configured",
            "Parley has no Mattermost bot configured, so it made no buttons.",
        )

    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return error_response(413, "too_large", "The click request is too large.")
    try:
        click = read_click(json.loads(body), commands.bot.signer)
    except (ValueError, InvalidClick) as error:
        logger.warning("Button click rejected: %s", error)
        return error_response(403, "invalid_click", str(error))

    reply = await commands.handle_click(click)
    return JSONResponse(reply)
