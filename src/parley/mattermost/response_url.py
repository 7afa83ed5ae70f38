"""Delayed replies through a slash command's `response_url`.

Mattermost keeps a response_url for 30 minutes and accepts at most 5 posts to it,
counting a use before it creates the post; so a failed attempt may cost a use, and
Parley tries at most three times.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

logger = logging.getLogger(__name__)

ATTEMPTS = 3
TIMEOUT = httpx.Timeout(10.0)


async def post_to_response_url(
    client: httpx.AsyncClient, url: str, reply: dict[str, Any]
) -> bool:
    """Post a reply as JSON; return whether Mattermost accepted it.

    Without `Content-Type: application/json` Mattermost would show the JSON as text.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        logger.error(
            "Cannot post the delayed reply: response_url is not an http(s) URL"
        )
        return False

    # The hook id in the path is the only secret guarding the URL: log the host only.
    where = parts.netloc
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await client.post(url, json=reply, timeout=TIMEOUT)
        except httpx.HTTPError as error:
            logger.warning(
                "Posting the delayed reply to %s failed (attempt %d of %d): %s",
                where,
                attempt,
                ATTEMPTS,
                type(error).__name__,
            )
        else:
            if response.status_code == 200:
                return True
            logger.warning(
                "Mattermost at %s rejected the delayed reply with status %d: %s",
                where,
                response.status_code,
                response.text[:200],
            )
            if response.status_code < 500:
                return False
        await asyncio.sleep(attempt)

    logger.error("Gave up posting the delayed reply to %s", where)
    return False
