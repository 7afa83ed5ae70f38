"""`/mattermost`: the HTTP edge of the slash command.

This module reads and authenticates the request, and `parley.mattermost.commands`
decides the reply. Failures the Mattermost user should read are 200 JSON replies built
there. The other statuses here are for requests that did not come from a configured
command.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.mattermost.commands import SlashCommands
from parley.mattermost.slash import SlashRequest, token_from_header, token_matches

logger = logging.getLogger(__name__)

router = APIRouter()

MAX_BODY_BYTES = 64 * 1024
# A missing Content-Type is read as a form, as curl --data-binary may send none.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", ""})


class BadSlashRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


# Both spellings are routed explicitly: a redirect from one to the other would turn
# Mattermost's POST into a GET without the form.
@router.api_route("/mattermost", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/mattermost/", methods=["GET", "POST"], include_in_schema=False)
async def slash_command(request: Request) -> JSONResponse:
    commands: SlashCommands = request.app.state.parley.commands
    tokens = [token.get_secret_value() for token in commands.settings.mattermost.tokens]
    if not tokens:
        logger.error("Slash command rejected: no command token is configured")
        return error_response(
            503,
            "not_configured",
            "Parley has no slash command token configured. Set "
            "PARLEY_MATTERMOST_TOKENS (or mattermost.tokens in the config file) to "
            "the token Mattermost shows for the command.",
        )

    try:
        fields = await _read_fields(request)
    except BadSlashRequest as error:
        logger.info("Slash command rejected (%d): %s", error.status, error.message)
        return error_response(error.status, error.code, error.message)

    slash = SlashRequest.from_fields(fields)
    header_token = token_from_header(request.headers.get("authorization"))
    if not token_matches([slash.token, header_token], tokens):
        logger.warning(
            "Slash command rejected: %s token from %s",
            "wrong" if slash.token or header_token else "missing",
            request.client.host if request.client else "unknown client",
        )
        return error_response(
            401, "invalid_token", "The command token is missing or does not match."
        )

    if not slash.command:
        return error_response(
            400, "missing_command", "The request has no 'command' field."
        )

    logger.info(
        "Slash command %s from user %s in channel %s",
        slash.command,
        slash.user_name or slash.user_id or "-",
        slash.channel_name or slash.channel_id or "-",
    )
    return JSONResponse(await commands.run(slash))


async def _read_fields(request: Request) -> dict[str, list[str]]:
    """Decode the command's fields from a query, a form or a JSON body."""
    if request.method == "GET":
        return _parse_form(request.url.query.encode("latin-1"))

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_TYPES | {"application/json"}:
        raise BadSlashRequest(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type!r} is not supported; send the command as "
            "application/x-www-form-urlencoded, as Mattermost does, or as JSON.",
        )

    body = await _read_body(request)
    if content_type == "application/json":
        return _parse_json(body)
    return _parse_form(body)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadSlashRequest(
            413, "too_large", f"The request body is over {MAX_BODY_BYTES} bytes."
        )

    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadSlashRequest(
                413, "too_large", f"The request body is over {MAX_BODY_BYTES} bytes."
            )
    return bytes(body)


def _parse_form(raw: bytes) -> dict[str, list[str]]:
    """Decode an URL-encoded form whose values must be UTF-8.

    Values are first decoded byte for byte (latin-1), so that each can be checked as
    UTF-8 on its own. curl --data also sends UTF-8 without percent-encoding it.
    """
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        value_bytes = value.encode("latin-1")
        if key == "text":
            value_bytes = _drop_split_remnant(value_bytes)
        try:
            fields.setdefault(key.encode("latin-1").decode(), []).append(
                value_bytes.decode()
            )
        except UnicodeDecodeError:
            raise BadSlashRequest(
                400,
                "invalid_encoding",
                f"The form field {key!r} is not valid UTF-8.",
            ) from None
    return fields


def _drop_split_remnant(text: bytes) -> bytes:
    """Drop UTF-8 continuation bytes at the start of `text`.

    Mattermost splits the command line at the first Unicode space but keeps the text
    from one byte after that space's first byte. After a multi-byte space, such as
    the ideographic space U+3000 that Chinese input methods type, the text therefore
    starts with the space's last bytes (0x80 0x80), which are not valid UTF-8 alone.
    """
    return text.lstrip(bytes(range(0x80, 0xC0)))


def _parse_json(raw: bytes) -> dict[str, list[str]]:
    try:
        data: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadSlashRequest(
            400, "invalid_json", "The body is not valid UTF-8 JSON."
        ) from None
    if not isinstance(data, dict):
        raise BadSlashRequest(400, "invalid_json", "The JSON body must be an object.")

    fields: dict[str, list[str]] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in values):
            raise BadSlashRequest(
                400, "invalid_json", f"The JSON field {key!r} must be a string."
            )
        fields[key] = values
    return fields
