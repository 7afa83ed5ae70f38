"""Create a meeting room the way users do: `/sfu <title>` in Mattermost.

The Mattermost stand-in (tests/support/mattermost.py) sends Parley the request
Mattermost sends for a custom slash command and reads Parley's reply as Mattermost
does. The link is taken from the post that the reply creates.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from tests.support.mattermost import MattermostStandIn

JOIN_LINK = re.compile(r"https?://\S+/join/[a-z0-9-]+")


def create_room(
    mattermost: MattermostStandIn, base_url: str, token: str, title: str
) -> str:
    """Run `/sfu new <title>` against Parley at `base_url`; return the meeting link.

    `new` because the tests share one Parley and one channel, where plain `/sfu`
    would offer the meeting an earlier test left open.
    """
    command = mattermost.execute_command(
        f"{base_url}/mattermost", f"/sfu new {title}", token=token
    )
    # Playwright's sync API keeps an event loop running on this thread, so the
    # coroutine runs on a thread of its own. A new thread starts in the network
    # namespace of the thread that creates it.
    with ThreadPoolExecutor(max_workers=1) as executor:
        outcome = executor.submit(asyncio.run, command).result(timeout=60)
    if outcome.error is not None or outcome.transport_error:
        raise AssertionError(
            f"/sfu {title} failed: {outcome.error or outcome.transport_error} "
            f"(status {outcome.response.status if outcome.response else 'none'})"
        )
    # With the channel bot, the reply is a line for the caller with the link, and
    # the bot posts the meeting. Without it, the reply is the meeting post.
    replies = outcome.posts or outcome.ephemeral
    for reply in replies:
        if reply.attachments:
            return reply.attachments[0]["title_link"]
        link = JOIN_LINK.search(reply.message)
        if link is not None:
            return link.group(0)
    raise AssertionError(f"/sfu {title} replied with no meeting link: {replies!r}")
