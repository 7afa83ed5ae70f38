"""ChannelBot's permission checks against a scripted Mattermost transport."""

import asyncio
import time

import httpx
import pytest

from parley.config import load_settings
from parley.mattermost import bot as bot_module
from parley.mattermost.actions import ActionSigner
from parley.mattermost.api import MattermostClient
from parley.mattermost.bot import ChannelBot


def make_bot(handler) -> ChannelBot:
    settings = load_settings(
        environ={
            "PARLEY_MATTERMOST_URL": "http://mattermost.test",
            "PARLEY_MATTERMOST_BOT_TOKEN": "bot-token",
        }
    )
    client = MattermostClient(
        "http://mattermost.test",
        bot_token="bot-token",
        transport=httpx.MockTransport(handler),
    )
    return ChannelBot(
        settings, client=client, outbox=None, signer=ActionSigner(b"k"), meetings=None
    )


@pytest.mark.parametrize(
    ("member", "user", "admin"),
    [
        ({"roles": "channel_user channel_admin"}, {"roles": "system_user"}, True),
        ({"roles": "channel_user", "scheme_admin": True}, {"roles": ""}, True),
        ({"roles": "channel_user"}, {"roles": "system_user system_admin"}, True),
        ({"roles": "channel_user"}, {"roles": "system_user"}, False),
    ],
)
async def test_admin_roles(member, user, admin):
    def handler(request: httpx.Request) -> httpx.Response:
        if "/members/" in request.url.path:
            return httpx.Response(200, json=member)
        return httpx.Response(200, json=user)

    assert await make_bot(handler).is_admin("u1", "c1") is admin


async def test_admin_check_failure_counts_as_no(caplog):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"id": "app.channel.get_member.missing.app_error"}
        )

    assert await make_bot(handler).is_admin("u1", "c1") is False
    assert "Cannot check whether user u1 administers channel c1" in caplog.text


async def test_slow_admin_check_gives_up(monkeypatch, caplog):
    monkeypatch.setattr(bot_module, "ADMIN_CHECK_TIMEOUT", 0.05)

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    started = time.monotonic()
    admin = await make_bot(handler).is_admin("u1", "c1")

    assert admin is False
    assert time.monotonic() - started < 1
    assert "timed out" in caplog.text


@pytest.mark.parametrize(
    ("member_status", "roles", "allowed"),
    [
        (200, "system_user", True),
        (404, "system_user system_post_all_public", True),
        (404, "system_user", False),
        (403, "system_user system_post_all_public", False),
        (403, "system_user system_post_all", True),
        (500, "system_user", None),
    ],
)
async def test_can_post(member_status, roles, allowed):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/me"):
            return httpx.Response(
                200, json={"id": "b1", "username": "meet", "roles": roles}
            )
        return httpx.Response(member_status, json={"id": "x", "message": "x"})

    bot = make_bot(handler)

    assert await bot.can_post("c1") is allowed
    assert bot.username == "meet"
