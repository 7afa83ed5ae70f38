"""Tests of the stand-in's v4 REST API and of button clicks.

Each test pins one point of the API a channel bot meets: the response's status
and error id, the JSON shape, and what the stand-in stores. A change that
makes the stand-in less faithful should fail here before it misleads a test
of Parley's bot.
"""

from __future__ import annotations

import itertools
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.mattermost import (
    MAX_POST_RUNES,
    PENDING_POST_ID_TTL_SECONDS,
    Channel,
    LoopbackServer,
    MattermostStandIn,
    User,
)

# A fixed clock makes the rate limiter's numbers exact.
FROZEN_CLOCK = 1_800_000_000.0
# Loading the CA bundle takes 20 ms per client; the stand-in speaks plain HTTP,
# so one context serves every client.
_TLS = ssl.create_default_context()


@dataclass
class Api:
    """An HTTP client for the stand-in that sends one token."""

    base_url: str
    token: str = ""

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        async with httpx.AsyncClient(base_url=self.base_url, verify=_TLS) as client:
            return await client.request(
                method, path, json=json, content=content, params=params, headers=sent
            )

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.call("PUT", path, **kwargs)


@dataclass
class Bot:
    user: User
    token: str
    api: Api


# Users outlive `reset`, so each test names its own.
_serial = itertools.count()


def unique(name: str) -> str:
    return f"{name}{next(_serial)}"


@pytest.fixture(scope="module")
def running_standin() -> Iterator[MattermostStandIn]:
    with MattermostStandIn() as standin:
        yield standin


@pytest.fixture
def mattermost(running_standin: MattermostStandIn) -> Iterator[MattermostStandIn]:
    running_standin.reset()
    if not running_standin.running:
        running_standin.start()
    yield running_standin


@pytest.fixture
def bot(mattermost: MattermostStandIn) -> Bot:
    """A new bot, a member of the default channel."""
    user, token = mattermost.add_bot(unique("parley"), channels=[mattermost.channel])
    return Bot(user, token, Api(mattermost.site_url, token))


@pytest.fixture
def anonymous(mattermost: MattermostStandIn) -> Api:
    return Api(mattermost.site_url)


async def bob_api(mattermost: MattermostStandIn) -> Api:
    """Log the default user in and return a client with the session token."""
    mattermost.set_password(mattermost.user, "correct horse")
    response = await Api(mattermost.site_url).post(
        "/api/v4/users/login",
        json={"login_id": "bob", "password": "correct horse"},
    )
    assert response.status_code == 200
    return Api(mattermost.site_url, response.headers["Token"])


def assert_error(response: httpx.Response, status: int, error_id: str) -> None:
    """Check an AppError response: status, id, and the request id in both places."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"] == error_id
    assert body["status_code"] == status
    assert body["detailed_error"] == ""
    assert body["request_id"] == response.headers["x-request-id"]


async def create_post(api: Api, channel: Channel, **fields: Any) -> dict[str, Any]:
    response = await api.post(
        "/api/v4/posts", json={"channel_id": channel.id, "message": "hi", **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "Token", "token"])
async def test_both_header_schemes_accepted_in_any_case(
    mattermost: MattermostStandIn, bot: Bot, scheme: str
) -> None:
    response = await bot.api.get(
        "/api/v4/users/me", headers={"Authorization": f"{scheme} {bot.token}"}
    )

    assert response.status_code == 200
    assert response.json()["id"] == bot.user.id


@pytest.mark.parametrize("authorization", [None, "Bearer 4xq7c9k2mfz8t1w5p3bn6yd0re"])
async def test_missing_or_unknown_token_is_session_expired(
    anonymous: Api, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await anonymous.get("/api/v4/users/me", headers=headers)

    assert_error(response, 401, "api.context.session_expired.app_error")
    assert response.json()["message"] == (
        "Invalid or expired session, please login again."
    )


async def test_revoked_token_is_session_expired(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    mattermost.revoke_token(bot.token)

    response = await bot.api.get("/api/v4/users/me")

    assert_error(response, 401, "api.context.session_expired.app_error")
    with pytest.raises(ValueError):
        mattermost.revoke_token(bot.token)


async def test_query_token_rejected_without_oauth(anonymous: Api, bot: Bot) -> None:
    response = await anonymous.get(
        "/api/v4/users/me", params={"access_token": bot.token}
    )

    assert_error(response, 401, "api.context.token_provided.app_error")


async def test_session_cookie_accepted_on_get(anonymous: Api, bot: Bot) -> None:
    response = await anonymous.get(
        "/api/v4/users/me", headers={"Cookie": f"MMAUTHTOKEN={bot.token}"}
    )

    assert response.status_code == 200


async def test_unknown_api_path_is_json_404_with_detail(anonymous: Api) -> None:
    response = await anonymous.call("DELETE", "/api/v4/nothing/here")

    assert response.status_code == 404
    body = response.json()
    assert body["id"] == "api.context.404.app_error"
    assert "url='/api/v4/nothing/here'" in body["detailed_error"]


# --------------------------------------------------------------------------
# Login and sessions
# --------------------------------------------------------------------------


async def test_login_returns_200_token_header_and_user(
    mattermost: MattermostStandIn, anonymous: Api
) -> None:
    mattermost.set_password(mattermost.user, "correct horse")

    response = await anonymous.post(
        "/api/v4/users/login",
        json={"login_id": "bob@example.com", "password": "correct horse"},
    )

    assert response.status_code == 200
    assert response.json()["username"] == "bob"
    me = await Api(mattermost.site_url, response.headers["Token"]).get(
        "/api/v4/users/me"
    )
    assert me.json()["id"] == mattermost.user.id


async def test_expired_sessions_get_401_but_bot_tokens_work(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    bob = await bob_api(mattermost)

    mattermost.expire_sessions()

    assert_error(
        await bob.get("/api/v4/users/me"), 401, "api.context.session_expired.app_error"
    )
    assert (await bot.api.get("/api/v4/users/me")).status_code == 200


@pytest.mark.parametrize(
    ("login_id", "password"),
    [("bob", "wrong"), ("nobody", "correct horse"), ("alice", "correct horse")],
)
async def test_failed_login_is_one_masked_error(
    mattermost: MattermostStandIn, anonymous: Api, login_id: str, password: str
) -> None:
    # alice exists but has no password, which fails the same way.
    mattermost.set_password(mattermost.user, "correct horse")

    response = await anonymous.post(
        "/api/v4/users/login", json={"login_id": login_id, "password": password}
    )

    assert_error(response, 401, "api.user.login.invalid_credentials_email_username")


async def test_blank_password_is_400(anonymous: Api) -> None:
    response = await anonymous.post(
        "/api/v4/users/login", json={"login_id": "bob", "password": ""}
    )

    assert_error(response, 400, "api.user.login.blank_pwd.app_error")


async def test_bot_cannot_log_in_with_a_password(
    mattermost: MattermostStandIn, anonymous: Api, bot: Bot
) -> None:
    with pytest.raises(ValueError):
        mattermost.set_password(bot.user, "secret")

    response = await anonymous.post(
        "/api/v4/users/login",
        json={"login_id": bot.user.username, "password": "secret"},
    )

    assert_error(response, 401, "api.user.login.bot_login_forbidden.app_error")


# --------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------


async def test_users_me_describes_the_bot(bot: Bot) -> None:
    response = await bot.api.get("/api/v4/users/me")

    body = response.json()
    assert response.headers["x-request-id"]
    assert body["username"] == bot.user.username
    assert body["is_bot"] is True
    assert body["roles"] == "system_user"
    assert body["email"] == f"{bot.user.username}@localhost"
    assert body["delete_at"] == 0
    assert body["timezone"] == {
        "automaticTimezone": "",
        "manualTimezone": "",
        "useAutomaticTimezone": "true",
    }
    assert "notify_props" in body
    assert "password" not in body


async def test_other_user_has_timezone_as_strings(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    mattermost.set_timezone(
        mattermost.other_user, manual="Europe/Berlin", use_automatic=False
    )

    response = await bot.api.get(f"/api/v4/users/{mattermost.other_user.id}")

    body = response.json()
    assert response.status_code == 200
    assert body["username"] == "alice"
    assert "is_bot" not in body
    assert "notify_props" not in body
    assert body["timezone"] == {
        "automaticTimezone": "",
        "manualTimezone": "Europe/Berlin",
        "useAutomaticTimezone": "false",
    }


@pytest.mark.parametrize(
    ("user_id", "status", "error_id"),
    [
        ("4xq7c9k2mfz8t1w5p3bn6yd0re", 404, "app.user.missing_account.const"),
        ("tooshort", 400, "api.context.invalid_url_param.app_error"),
    ],
)
async def test_get_user_errors(
    bot: Bot, user_id: str, status: int, error_id: str
) -> None:
    response = await bot.api.get(f"/api/v4/users/{user_id}")

    assert_error(response, status, error_id)


async def test_user_id_with_punctuation_matches_no_route(bot: Bot) -> None:
    response = await bot.api.get("/api/v4/users/not-an-id")

    assert response.status_code == 404
    assert response.json()["id"] == "api.context.404.app_error"


# --------------------------------------------------------------------------
# Channel members
# --------------------------------------------------------------------------


async def test_member_roles_follow_channel_admin(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    channel = mattermost.add_channel("room", members=[mattermost.user, bot.user])
    path = f"/api/v4/channels/{channel.id}/members/{mattermost.user.id}"
    before = (await bot.api.get(path)).json()

    mattermost.make_channel_admin(channel, mattermost.user)

    after = (await bot.api.get(path)).json()
    assert before["roles"] == "channel_user"
    assert (before["scheme_user"], before["scheme_admin"]) == (True, False)
    assert after["roles"] == "channel_user channel_admin"
    assert (after["scheme_user"], after["scheme_admin"]) == (True, True)
    assert after["channel_id"] == channel.id
    assert after["user_id"] == mattermost.user.id


async def test_me_names_the_caller(mattermost: MattermostStandIn, bot: Bot) -> None:
    response = await bot.api.get(f"/api/v4/channels/{mattermost.channel.id}/members/me")

    assert response.json()["user_id"] == bot.user.id


async def test_non_member_target_is_404(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    stranger, _ = mattermost.add_bot(unique("stranger"))

    response = await bot.api.get(
        f"/api/v4/channels/{mattermost.channel.id}/members/{stranger.id}"
    )

    assert_error(response, 404, "app.channel.get_member.missing.app_error")


async def test_caller_outside_the_channel_is_403(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    private = mattermost.add_channel("secret", private=True, members=[mattermost.user])

    response = await bot.api.get(
        f"/api/v4/channels/{private.id}/members/{mattermost.user.id}"
    )

    assert_error(response, 403, "api.context.permissions.app_error")


# --------------------------------------------------------------------------
# Creating posts
# --------------------------------------------------------------------------


async def test_created_post_is_201_with_full_json(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    body = await create_post(
        bot.api, mattermost.channel, message="Standup #daily", props={"k": "v"}
    )

    assert body["user_id"] == bot.user.id
    assert body["channel_id"] == mattermost.channel.id
    assert body["message"] == "Standup #daily"
    assert body["hashtags"] == "#daily"
    assert body["props"] == {"k": "v", "from_bot": "true"}
    assert body["create_at"] == body["update_at"]
    assert (body["edit_at"], body["delete_at"], body["is_pinned"]) == (0, 0, False)
    assert (body["root_id"], body["original_id"], body["type"]) == ("", "", "")
    assert body["reply_count"] == 0
    assert body["metadata"] == {}


async def test_api_posts_join_the_channel_in_order(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    first = await create_post(bot.api, mattermost.channel, message="one")
    second = await create_post(bot.api, mattermost.channel, message="two")

    posts = mattermost.posts_in(mattermost.channel.id)

    assert [post.id for post in posts] == [first["id"], second["id"]]
    assert {post.source for post in posts} == {"api"}
    stored = mattermost.post(first["id"])
    assert stored is not None
    assert stored.message == "one"
    assert len(mattermost.api_requests("POST")) == 2
    assert mattermost.api_requests("GET") == []


async def test_reply_counts_and_moves_root_update_time(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    root = await create_post(bot.api, mattermost.channel, message="root")
    mattermost.advance_time(1)

    reply = await create_post(bot.api, mattermost.channel, root_id=root["id"])

    assert reply["root_id"] == root["id"]
    fetched = (await bot.api.get(f"/api/v4/posts/{root['id']}")).json()
    assert fetched["reply_count"] == 1
    assert fetched["update_at"] == reply["create_at"]


async def test_open_channel_needs_post_all_public(
    mattermost: MattermostStandIn,
) -> None:
    open_channel = mattermost.add_channel("general")
    plain, plain_token = mattermost.add_bot(unique("plain"))
    public, public_token = mattermost.add_bot(
        unique("public"), roles="system_user system_post_all_public"
    )
    payload = {"channel_id": open_channel.id, "message": "hi"}

    rejected = await Api(mattermost.site_url, plain_token).post(
        "/api/v4/posts", json=payload
    )
    allowed = await Api(mattermost.site_url, public_token).post(
        "/api/v4/posts", json=payload
    )

    assert_error(rejected, 403, "api.context.permissions.app_error")
    assert allowed.status_code == 201


async def test_private_channel_needs_membership(mattermost: MattermostStandIn) -> None:
    private = mattermost.add_channel("secret", private=True)
    user, token = mattermost.add_bot(
        unique("public"), roles="system_user system_post_all_public"
    )
    api = Api(mattermost.site_url, token)
    payload = {"channel_id": private.id, "message": "hi"}

    rejected = await api.post("/api/v4/posts", json=payload)
    mattermost.add_member(private, user)
    allowed = await api.post("/api/v4/posts", json=payload)

    assert_error(rejected, 403, "api.context.permissions.app_error")
    assert allowed.status_code == 201


@pytest.mark.parametrize("channel_id", ["4xq7c9k2mfz8t1w5p3bn6yd0re", "bad", ""])
async def test_unknown_or_invalid_channel_is_403(bot: Bot, channel_id: str) -> None:
    response = await bot.api.post(
        "/api/v4/posts", json={"channel_id": channel_id, "message": "hi"}
    )

    assert_error(response, 403, "api.context.permissions.app_error")


async def test_root_checks(mattermost: MattermostStandIn, bot: Bot) -> None:
    elsewhere = mattermost.add_channel("elsewhere", members=[bot.user])
    root = await create_post(bot.api, mattermost.channel)
    reply = await create_post(bot.api, mattermost.channel, root_id=root["id"])
    cases = [
        (mattermost.channel, "4xq7c9k2mfz8t1w5p3bn6yd0re", "root_id"),
        (mattermost.channel, reply["id"], "root_id"),
        (elsewhere, root["id"], "channel_root_id"),
    ]

    for channel, root_id, name in cases:
        response = await bot.api.post(
            "/api/v4/posts",
            json={"channel_id": channel.id, "message": "x", "root_id": root_id},
        )
        assert_error(response, 400, f"api.post.create_post.{name}.app_error")


async def test_message_length_limit(mattermost: MattermostStandIn, bot: Bot) -> None:
    longest = await bot.api.post(
        "/api/v4/posts",
        json={"channel_id": mattermost.channel.id, "message": "é" * MAX_POST_RUNES},
    )
    too_long = await bot.api.post(
        "/api/v4/posts",
        json={"channel_id": mattermost.channel.id, "message": "x" * 16384},
    )

    assert longest.status_code == 201
    assert_error(too_long, 400, "model.post.is_valid.message_length.app_error")


@pytest.mark.parametrize(
    ("fields", "error_id"),
    [
        ({"type": "system_join_channel"}, "api.context.invalid_param.app_error"),
        ({"type": "poll"}, "model.post.is_valid.type.app_error"),
        ({"id": "4xq7c9k2mfz8t1w5p3bn6yd0re"}, "app.post.save.existing.app_error"),
        ({"message": 5}, "api.context.invalid_body_param.app_error"),
    ],
)
async def test_invalid_post_fields_are_400(
    mattermost: MattermostStandIn, bot: Bot, fields: dict[str, Any], error_id: str
) -> None:
    response = await bot.api.post(
        "/api/v4/posts",
        json={"channel_id": mattermost.channel.id, "message": "x", **fields},
    )

    assert_error(response, 400, error_id)


async def test_body_that_is_not_json_is_400(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    response = await bot.api.post("/api/v4/posts", content=b"{not json")

    assert_error(response, 400, "api.context.invalid_body_param.app_error")


async def test_action_ids_and_hidden_integrations(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    integration = {"url": "http://127.0.0.1:9/actions", "context": {"room": "r1"}}
    attachment = {
        "text": "Weekly sync",
        "actions": [
            {"id": "join_room", "name": "Join", "integration": integration},
            {"name": "End", "integration": integration},
        ],
    }

    body = await create_post(
        bot.api, mattermost.channel, props={"attachments": [attachment]}
    )

    actions = body["props"]["attachments"][0]["actions"]
    assert actions[0] == {"id": "join_room", "name": "Join"}
    assert len(actions[1]["id"]) == 26
    assert body["metadata"] == {"embeds": [{"type": "message_attachment"}]}
    stored = mattermost.post(body["id"])
    assert stored is not None
    assert stored.attachments[0]["actions"][0]["integration"] == integration


# --------------------------------------------------------------------------
# Deduplication by pending_post_id
# --------------------------------------------------------------------------


async def test_repeated_pending_post_id_returns_the_first_post(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    pending = f"{bot.user.id}:1796400000000"
    first = await create_post(bot.api, mattermost.channel, pending_post_id=pending)
    mattermost.advance_time(PENDING_POST_ID_TTL_SECONDS - 1)

    again = await create_post(
        bot.api, mattermost.channel, message="other", pending_post_id=pending
    )

    assert first["pending_post_id"] == pending
    assert again["id"] == first["id"]
    assert again["message"] == "hi"
    assert again["pending_post_id"] == ""
    assert "metadata" not in again
    assert len(mattermost.posts_in()) == 1


async def test_pending_post_id_forgotten_after_ttl_and_restart(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    first = await create_post(bot.api, mattermost.channel, pending_post_id="p")

    mattermost.advance_time(PENDING_POST_ID_TTL_SECONDS + 1)
    second = await create_post(bot.api, mattermost.channel, pending_post_id="p")
    mattermost.restart()
    third = await create_post(bot.api, mattermost.channel, pending_post_id="p")

    assert len({first["id"], second["id"], third["id"]}) == 3


async def test_failed_create_frees_pending_post_id(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    payload = {"channel_id": mattermost.channel.id, "pending_post_id": "p"}

    failed = await bot.api.post(
        "/api/v4/posts", json={**payload, "message": "x" * (MAX_POST_RUNES + 1)}
    )
    retried = await bot.api.post("/api/v4/posts", json={**payload, "message": "ok"})

    assert failed.status_code == 400
    assert retried.status_code == 201
    assert retried.json()["message"] == "ok"


# --------------------------------------------------------------------------
# Patching and reading posts
# --------------------------------------------------------------------------


async def test_patch_edits_message_and_replaces_props(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    created = await create_post(bot.api, mattermost.channel, props={"old": "1"})
    mattermost.advance_time(1)

    response = await bot.api.put(
        f"/api/v4/posts/{created['id']}/patch",
        json={"message": "edited", "props": {"new": "2"}},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["message"] == "edited"
    assert body["props"] == {"new": "2"}
    assert body["edit_at"] == body["update_at"] > created["update_at"]
    history = mattermost.post_history(created["id"])
    assert [post.message for post in history] == ["hi", "edited"]


async def test_patch_without_message_change_leaves_edit_at(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    created = await create_post(bot.api, mattermost.channel)
    mattermost.advance_time(1)

    response = await bot.api.put(
        f"/api/v4/posts/{created['id']}/patch", json={"is_pinned": True}
    )

    body = response.json()
    assert body["is_pinned"] is True
    assert body["edit_at"] == 0
    assert body["props"] == created["props"]
    assert len(mattermost.post_history(created["id"])) == 2


async def test_patch_of_foreign_post_is_403(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    theirs = await create_post(await bob_api(mattermost), mattermost.channel)

    for post_id in ["4xq7c9k2mfz8t1w5p3bn6yd0re", theirs["id"]]:
        response = await bot.api.put(
            f"/api/v4/posts/{post_id}/patch", json={"message": "mine now"}
        )
        assert_error(response, 403, "api.context.permissions.app_error")


async def test_admin_may_patch_other_users_posts(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    _, admin_token = mattermost.add_bot(
        unique("admin"), roles="system_user system_admin"
    )
    created = await create_post(bot.api, mattermost.channel)

    response = await Api(mattermost.site_url, admin_token).put(
        f"/api/v4/posts/{created['id']}/patch", json={"message": "moderated"}
    )

    assert response.status_code == 200
    assert response.json()["user_id"] == bot.user.id


async def test_get_post_and_its_errors(mattermost: MattermostStandIn, bot: Bot) -> None:
    created = await create_post(bot.api, mattermost.channel)
    private = mattermost.add_channel("secret", private=True, members=[mattermost.user])
    hidden = await create_post(await bob_api(mattermost), private)

    found = await bot.api.get(f"/api/v4/posts/{created['id']}")
    unknown = await bot.api.get("/api/v4/posts/4xq7c9k2mfz8t1w5p3bn6yd0re")
    invalid = await bot.api.get("/api/v4/posts/short")
    forbidden = await bot.api.get(f"/api/v4/posts/{hidden['id']}")

    assert found.json() == {**created, "pending_post_id": ""}
    assert_error(unknown, 404, "app.post.get.app_error")
    assert_error(invalid, 400, "api.context.invalid_url_param.app_error")
    assert_error(forbidden, 403, "api.context.permissions.app_error")


async def test_channel_posts_pages_newest_first(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    ids = []
    for message in ["one", "two", "three"]:
        ids.append(
            (await create_post(bot.api, mattermost.channel, message=message))["id"]
        )
        mattermost.advance_time(1)
    path = f"/api/v4/channels/{mattermost.channel.id}/posts"

    first = (await bot.api.get(path, params={"per_page": "2"})).json()
    second = (await bot.api.get(path, params={"per_page": "2", "page": "1"})).json()

    assert first["order"] == [ids[2], ids[1]]
    assert set(first["posts"]) == {ids[2], ids[1]}
    assert (first["next_post_id"], first["prev_post_id"]) == ("", ids[0])
    assert second["order"] == [ids[0]]
    assert (second["next_post_id"], second["prev_post_id"]) == (ids[1], "")


async def test_since_returns_created_and_updated_posts(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    old = await create_post(bot.api, mattermost.channel, message="old")
    mattermost.advance_time(1)
    new = await create_post(bot.api, mattermost.channel, message="new")
    mattermost.advance_time(1)
    await bot.api.put(f"/api/v4/posts/{old['id']}/patch", json={"message": "old*"})
    path = f"/api/v4/channels/{mattermost.channel.id}/posts"

    body = (await bot.api.get(path, params={"since": str(old["create_at"])})).json()

    # The edit left a deleted copy of the old version behind.
    copies = [p for p in body["posts"].values() if p["original_id"] == old["id"]]
    assert len(copies) == 1
    assert copies[0]["message"] == "old"
    assert copies[0]["delete_at"] > 0
    assert body["posts"][old["id"]]["message"] == "old*"
    assert new["id"] in body["order"]
    assert set(body["order"]) == {old["id"], new["id"], copies[0]["id"]}
    assert "has_next" not in body


@pytest.mark.parametrize(
    ("channel_id", "params", "status", "error_id"),
    [
        ("4xq7c9k2mfz8t1w5p3bn6yd0re", {}, 404, "app.channel.get.existing.app_error"),
        (None, {"since": "yesterday"}, 400, "api.context.invalid_body_param.app_error"),
        ("short", {}, 400, "api.context.invalid_url_param.app_error"),
    ],
)
async def test_channel_posts_errors(
    mattermost: MattermostStandIn,
    bot: Bot,
    channel_id: str | None,
    params: dict[str, str],
    status: int,
    error_id: str,
) -> None:
    channel_id = channel_id or mattermost.channel.id

    response = await bot.api.get(f"/api/v4/channels/{channel_id}/posts", params=params)

    assert_error(response, status, error_id)


# --------------------------------------------------------------------------
# Button clicks
# --------------------------------------------------------------------------


@dataclass
class Integration:
    """The integration URL of a button; each test chooses its reply."""

    url: str = ""
    status: int = 200
    reply: bytes = b""
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.received.append((dict(request.headers), body))
        return Response(
            self.reply,
            status_code=self.status,
            headers={"Content-Type": "application/json"},
        )

    def reset(self) -> None:
        self.status, self.reply = 200, b""
        self.received.clear()

    def respond(self, payload: object, status: int = 200) -> None:
        self.reply = json.dumps(payload).encode()
        self.status = status


@pytest.fixture(scope="module")
def integration_server() -> Iterator[tuple[Integration, LoopbackServer]]:
    integration = Integration()
    app = Starlette(routes=[Route("/actions", integration.handle, methods=["POST"])])
    with LoopbackServer(app, name="integration") as server:
        integration.url = f"{server.url}/actions"
        yield integration, server


@pytest.fixture
def integration(
    integration_server: tuple[Integration, LoopbackServer],
) -> Integration:
    integration = integration_server[0]
    integration.reset()
    return integration


async def button_post(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration, **action: Any
) -> dict[str, Any]:
    button = {
        "id": "end",
        "name": "End meeting",
        "integration": {"url": integration.url, "context": {"room": "r1"}},
        **action,
    }
    attachment = {"text": "Weekly sync", "actions": [button]}
    return await create_post(
        bot.api, mattermost.channel, props={"attachments": [attachment]}
    )


async def test_click_sends_request_and_applies_the_reply(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration
) -> None:
    post = await button_post(mattermost, bot, integration)
    integration.respond(
        {"update": {"message": "Ended", "props": {}}, "ephemeral_text": "Room gone."}
    )

    outcome = await mattermost.click(post["id"], "end")

    assert (outcome.status, outcome.error) == (200, None)
    headers, body = integration.received[0]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Mattermost-Bot/1.1"
    assert "authorization" not in headers
    assert body == outcome.request
    assert body["context"] == {"room": "r1"}
    assert body["user_id"] == mattermost.user.id
    assert body["user_name"] == "bob"
    assert (body["channel_id"], body["channel_name"]) == (
        mattermost.channel.id,
        "town-square",
    )
    assert (body["team_id"], body["team_domain"]) == (mattermost.team.id, "eng")
    assert (body["post_id"], body["type"], body["data_source"]) == (post["id"], "", "")
    assert body["trigger_id"]
    updated = mattermost.post(post["id"])
    assert updated is not None
    assert updated.message == "Ended"
    assert "attachments" not in updated.props
    assert len(mattermost.post_history(post["id"])) == 2
    assert outcome.ephemeral_text == "Room gone."
    [ephemeral] = mattermost.ephemeral_for(mattermost.user.id)
    assert (ephemeral.message, ephemeral.root_id) == ("Room gone.", post["id"])


async def test_update_without_props_keeps_buttons(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration
) -> None:
    post = await button_post(mattermost, bot, integration)
    integration.respond({"update": {}})

    await mattermost.click(post["id"], "end")

    updated = mattermost.post(post["id"])
    assert updated is not None
    assert updated.message == ""
    assert updated.attachments[0]["actions"][0]["id"] == "end"


async def test_empty_reply_changes_nothing(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration
) -> None:
    post = await button_post(mattermost, bot, integration)

    outcome = await mattermost.click(post["id"], "end")

    assert outcome.status == 200
    assert outcome.response is not None
    assert outcome.response.body == b""
    assert len(mattermost.post_history(post["id"])) == 1


async def test_select_sends_the_chosen_option_in_context(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration
) -> None:
    post = await button_post(
        mattermost,
        bot,
        integration,
        type="select",
        options=[{"text": "Ten", "value": "10"}],
    )

    outcome = await mattermost.click(post["id"], "end", selected_option="10")

    assert outcome.request is not None
    assert outcome.request["type"] == "select"
    assert outcome.request["context"] == {"room": "r1", "selected_option": "10"}


async def test_click_over_http_returns_ok(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration
) -> None:
    post = await button_post(mattermost, bot, integration)
    bob = await bob_api(mattermost)

    response = await bob.post(f"/api/v4/posts/{post['id']}/actions/end", json={})

    assert response.status_code == 200
    assert response.json()["status"] == "OK"
    assert response.json()["trigger_id"]
    assert integration.received[0][1]["user_id"] == mattermost.user.id


@pytest.mark.parametrize(
    ("status", "reply"), [(500, b'{"update": {}}'), (200, b"{not json")]
)
async def test_failing_integration_is_400(
    mattermost: MattermostStandIn,
    bot: Bot,
    integration: Integration,
    status: int,
    reply: bytes,
) -> None:
    post = await button_post(mattermost, bot, integration)
    integration.status, integration.reply = status, reply
    bob = await bob_api(mattermost)

    outcome = await mattermost.click(post["id"], "end")
    response = await bob.post(f"/api/v4/posts/{post['id']}/actions/end", json={})

    assert outcome.status == 400
    assert outcome.error is not None
    assert outcome.error.id == "api.post.do_action.action_integration.app_error"
    assert_error(response, 400, "api.post.do_action.action_integration.app_error")
    assert len(mattermost.post_history(post["id"])) == 1


async def test_click_errors(
    mattermost: MattermostStandIn, bot: Bot, integration: Integration
) -> None:
    post = await button_post(mattermost, bot, integration, id="join_room")
    outsider, _ = mattermost.add_bot(unique("outsider"))

    no_route = await mattermost.click(post["id"], "join_room")
    unknown = await mattermost.click(post["id"], "missing")
    outside = await mattermost.click(post["id"], "missing", outsider)

    assert no_route.status == 404
    assert no_route.error is not None
    assert no_route.error.id == "api.context.404.app_error"
    assert unknown.error is not None
    assert (unknown.status, unknown.error.id) == (
        404,
        "api.post.do_action.action_id.app_error",
    )
    assert outside.error is not None
    assert (outside.status, outside.error.id) == (
        403,
        "api.context.permissions.app_error",
    )
    assert integration.received == []


# --------------------------------------------------------------------------
# Rate limiting and the reverse proxy
# --------------------------------------------------------------------------


async def test_rate_limit_headers_then_429_with_retry_after() -> None:
    with MattermostStandIn(clock=lambda: FROZEN_CLOCK) as mattermost:
        _, token = mattermost.add_bot()
        api = Api(mattermost.site_url, token)
        mattermost.rate_limit(1, burst=2)

        passed = [await api.get("/api/v4/users/me") for _ in range(3)]
        limited = await api.get("/api/v4/users/me")
        mattermost.advance_time(1)
        refilled = await api.get("/api/v4/users/me")

    assert [r.headers["x-ratelimit-remaining"] for r in passed] == ["2", "1", "0"]
    assert [r.headers["x-ratelimit-reset"] for r in passed] == ["1", "2", "3"]
    assert {r.headers["x-ratelimit-limit"] for r in passed} == {"3"}
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.headers["content-type"] == "text/plain; charset=utf-8"
    assert limited.text == "limit exceeded\n"
    assert refilled.status_code == 200


async def test_limiter_covers_every_path(
    mattermost: MattermostStandIn, anonymous: Api
) -> None:
    mattermost.rate_limit(10)
    page = await anonymous.get("/login")
    mattermost.rate_limit(None)
    unlimited = await anonymous.get("/api/v4/users/me")

    assert page.headers["x-ratelimit-limit"] == "101"
    assert "x-ratelimit-limit" not in unlimited.headers


async def test_fail_api_responds_like_a_proxy(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    mattermost.fail_api(2)

    failed = [await bot.api.get("/api/v4/users/me") for _ in range(2)]
    page = await bot.api.get("/")
    recovered = await bot.api.get("/api/v4/users/me")

    assert [r.status_code for r in failed] == [503, 503]
    assert failed[0].headers["content-type"].startswith("text/plain")
    assert failed[0].text == "503 Service Unavailable\n"
    assert page.status_code == 200
    assert recovered.status_code == 200


# --------------------------------------------------------------------------
# State across restarts and resets
# --------------------------------------------------------------------------


async def test_state_survives_restart(mattermost: MattermostStandIn, bot: Bot) -> None:
    created = await create_post(bot.api, mattermost.channel)
    bob = await bob_api(mattermost)

    mattermost.stop()
    with pytest.raises(httpx.ConnectError):
        await bot.api.get("/api/v4/users/me")
    mattermost.start()

    assert (await bot.api.get(f"/api/v4/posts/{created['id']}")).status_code == 200
    assert (await bob.get("/api/v4/users/me")).status_code == 200


async def test_reset_keeps_bots_and_drops_the_rest(
    mattermost: MattermostStandIn, bot: Bot
) -> None:
    await create_post(bot.api, mattermost.channel)
    bob = await bob_api(mattermost)
    mattermost.rate_limit(1, burst=1)
    mattermost.fail_api(5)

    mattermost.reset()

    response = await bot.api.get("/api/v4/users/me")
    assert response.status_code == 200
    assert "x-ratelimit-limit" not in response.headers
    assert mattermost.posts_in() == []
    assert_error(
        await bob.get("/api/v4/users/me"), 401, "api.context.session_expired.app_error"
    )


async def test_click_never_leaves_loopback() -> None:
    with MattermostStandIn() as standin:
        button = {
            "id": "go",
            "name": "Go",
            "integration": {"url": "https://meet.example.org/actions", "context": {}},
        }
        bot, token = standin.add_bot("loopbot", channels=[standin.channel])
        async with httpx.AsyncClient(base_url=standin.site_url) as client:
            created = await client.post(
                "/api/v4/posts",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "channel_id": standin.channel.id,
                    "message": "x",
                    "props": {"attachments": [{"actions": [button]}]},
                },
            )

        outcome = await standin.click(created.json()["id"], "go", standin.user)

    assert outcome.status == 400
    assert "connects only to loopback" in outcome.error.detailed_error
