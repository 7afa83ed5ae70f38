"""The channel bot against the Mattermost stand-in's REST API.

Parley runs under uvicorn in the test's event loop with a fake media gateway and a
clock that runs at real speed but can jump ahead, so a test can make a meeting
last 23 minutes. Participants join and leave through the real
signaling WebSocket. The stand-in plays the Mattermost server: it sends the slash
command, accepts the bot's posts and patches, and can be stopped mid-test.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from parley.app import create_app
from parley.config import load_settings
from parley.meetings.model import MeetingState
from tests.support.fakes import FakeMediaGateway, RunningClock
from tests.support.live import free_port
from tests.support.mattermost import (
    CommandOutcome,
    MattermostStandIn,
    Post,
    serve_in_loop,
    webapp_command_line,
)

TOKEN = "q8w2e6r4t9y1u3i5o7p0a2s4dz"
PUBLIC_URL = "https://meet.example.org"


@dataclass
class RunningParley:
    url: str
    app: FastAPI
    clock: RunningClock

    @property
    def command_url(self) -> str:
        return f"{self.url}/mattermost"

    async def meeting_state(self, slug: str) -> MeetingState | None:
        meeting = await self.app.state.parley.service.store.get_meeting(slug)
        return None if meeting is None else meeting.state


@asynccontextmanager
async def run_parley(
    data_dir: Path, mattermost: MattermostStandIn, bot_token: str, **environ: str
) -> AsyncIterator[RunningParley]:
    """Serve Parley with the bot configured, English messages and quick retries."""
    environ = {
        "PARLEY_MATTERMOST_TOKENS": TOKEN,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "PARLEY_LOCALE": "en",
        "PARLEY_MATTERMOST_URL": mattermost.site_url,
        "PARLEY_MEETING_GRACE_SECONDS": "1",
        **environ,
    }
    if "PARLEY_MATTERMOST_USERNAME" not in environ:
        environ["PARLEY_MATTERMOST_BOT_TOKEN"] = bot_token
    # Button clicks come from the stand-in, so they go to Parley's loopback port,
    # never to the public URL in the links.
    port = free_port()
    environ.setdefault("PARLEY_MATTERMOST_CALLBACK_URL", f"http://127.0.0.1:{port}")
    clock = RunningClock()
    settings = load_settings(environ=environ)
    app = create_app(settings, gateway=FakeMediaGateway(), clock=clock)
    async with serve_in_loop(app, port=port) as url:
        outbox = app.state.parley.outbox
        outbox.first_retry = 0.05
        outbox.max_retry = 0.5
        outbox.poll_interval = 0.1
        yield RunningParley(url, app, clock)


@pytest.fixture(scope="module")
def running_standin() -> Iterator[MattermostStandIn]:
    with MattermostStandIn() as standin:
        yield standin


@pytest.fixture
def mattermost(running_standin: MattermostStandIn) -> MattermostStandIn:
    running_standin.reset()
    if not running_standin.running:
        running_standin.start()
    return running_standin


@pytest.fixture(scope="module")
def bot(running_standin: MattermostStandIn):
    return running_standin.add_bot("parley-bot", channels=[running_standin.channel])


@pytest.fixture
async def parley(
    tmp_path: Path, mattermost: MattermostStandIn, bot
) -> AsyncIterator[RunningParley]:
    _, token = bot
    async with run_parley(tmp_path, mattermost, token) as running:
        yield running


async def sfu(
    mattermost: MattermostStandIn, parley: RunningParley, typed: str, **options
) -> CommandOutcome:
    return await mattermost.execute_command(
        parley.command_url, webapp_command_line(typed), token=TOKEN, **options
    )


def bot_posts(mattermost: MattermostStandIn, channel_id: str | None = None):
    return [post for post in mattermost.posts_in(channel_id) if post.source == "api"]


async def wait_for_bot_post(mattermost: MattermostStandIn) -> Post:
    posts = await mattermost.wait_for(lambda: bot_posts(mattermost) or None)
    return posts[0]


def field_values(post: Post) -> dict[str, str]:
    attachment = post.attachments[0]
    return {field["title"]: field["value"] for field in attachment.get("fields", [])}


def slug_from(post: Post) -> str:
    return post.attachments[0]["title_link"].rsplit("/", 1)[1]


async def wait_for_version(
    mattermost: MattermostStandIn, post_id: str, probe, within: float = 10.0
) -> Post:
    """Wait until the post's current version satisfies `probe`."""

    def check():
        post = mattermost.post(post_id)
        return post if post is not None and probe(post) else None

    return await mattermost.wait_for(check, within=within)


async def wait_for_names(mattermost: MattermostStandIn, post: Post, names: str) -> Post:
    """Wait until the post lists exactly these people in the meeting."""
    count = len(names.split(", "))
    title = f"In the meeting ({count})"
    return await wait_for_version(
        mattermost, post.id, lambda p: field_values(p).get(title) == names
    )


async def wait_for_pending(parley: RunningParley, count: int) -> None:
    store = parley.app.state.parley.outbox.store
    for _ in range(200):
        if await store.count_pending() >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} outbox entries are pending after 4 s")


@asynccontextmanager
async def participant(parley: RunningParley, slug: str, name: str):
    """A browser in the meeting: joined on entry, gone on exit."""
    url = parley.url.replace("http://", "ws://") + f"/join/{slug}/signal"
    async with connect(url) as socket:
        await socket.send(json.dumps({"type": "join", "name": name}))
        joined = json.loads(await socket.recv())
        assert joined["type"] == "joined", joined
        yield socket


async def leave(socket: ClientConnection) -> None:
    await socket.send(json.dumps({"type": "leave"}))
    await socket.close()


# --------------------------------------------------------------------------
# The meeting post
# --------------------------------------------------------------------------


async def test_sfu_posts_meeting_as_bot(mattermost, parley, bot) -> None:
    bot_user, _ = bot

    outcome = await sfu(mattermost, parley, "/sfu standup")

    assert outcome.error is None
    assert outcome.posts == []  # the command's own reply is ephemeral
    [reply] = outcome.ephemeral
    post = await wait_for_bot_post(mattermost)
    link = post.attachments[0]["title_link"]
    assert link.startswith(f"{PUBLIC_URL}/join/standup-")
    assert link in reply.message
    assert post.user_id == bot_user.id
    assert post.message == "@bob started a meeting: **standup**"
    assert field_values(post)["In the meeting (0)"] == "Nobody yet"
    [button] = post.attachments[0]["actions"]
    assert button["name"] == "End meeting"


async def test_post_follows_participants(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    slug = slug_from(post)

    async with (
        participant(parley, slug, "Ada") as ada,
        participant(parley, slug, "Grace"),
    ):
        await wait_for_version(
            mattermost,
            post.id,
            lambda p: field_values(p).get("In the meeting (2)") == "Ada, Grace",
        )
        await leave(ada)
        current = await wait_for_version(
            mattermost,
            post.id,
            lambda p: field_values(p).get("In the meeting (1)") == "Grace",
        )

    assert current.id == post.id
    assert len(bot_posts(mattermost)) == 1


async def test_empty_meeting_ends_with_duration(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    slug = slug_from(post)

    async with participant(parley, slug, "Ada") as ada:
        await wait_for_names(mattermost, post, "Ada")
        parley.clock.advance(1)
        async with participant(parley, slug, "Grace") as grace:
            await wait_for_names(mattermost, post, "Ada, Grace")
            parley.clock.advance(23 * 60 + 4)
            await leave(ada)
            await leave(grace)

    ended = await wait_for_version(
        mattermost, post.id, lambda p: p.message.endswith("has ended.")
    )
    fields = field_values(ended)
    assert fields["Duration"] == "23 min"
    assert fields["Took part (2)"] == "Ada, Grace"
    assert "actions" not in ended.attachments[0]
    assert await parley.meeting_state(slug) is MeetingState.ENDED


async def test_rejoin_within_grace_keeps_meeting(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    slug = slug_from(await wait_for_bot_post(mattermost))

    async with participant(parley, slug, "Ada") as ada:
        await leave(ada)
    async with participant(parley, slug, "Ada"):
        await asyncio.sleep(1.5)  # longer than the 1 s grace period

        assert await parley.meeting_state(slug) is MeetingState.OPEN


async def test_post_goes_in_the_thread(mattermost, parley) -> None:
    thread = await sfu(mattermost, parley, "/sfu first")
    root = await wait_for_bot_post(mattermost)
    assert thread.error is None

    await sfu(mattermost, parley, "/sfu new in thread", root_id=root.id)

    posts = await mattermost.wait_for(
        lambda: bot_posts(mattermost) if len(bot_posts(mattermost)) == 2 else None
    )
    assert posts[1].root_id == root.id


# --------------------------------------------------------------------------
# Never block, never lose
# --------------------------------------------------------------------------


async def test_outage_updates_arrive_once_each(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    slug = slug_from(post)

    mattermost.stop()
    async with participant(parley, slug, "Ada") as ada:
        await wait_for_pending(parley, 1)
        parley.clock.advance(1)
        async with participant(parley, slug, "Grace"):
            await wait_for_pending(parley, 2)
            await leave(ada)
    mattermost.start()

    ended = await wait_for_version(
        mattermost, post.id, lambda p: p.message.endswith("has ended.")
    )
    messages = [field_values(version) for version in mattermost.post_history(post.id)]
    # created, Ada joined, Grace joined, Ada left, Grace left, ended
    assert len(messages) == 6
    assert messages[2] == {
        "In the meeting (2)": "Ada, Grace",
        "Started": "2027-01-15 09:00 UTC",
    }
    assert field_values(ended)["Took part (2)"] == "Ada, Grace"
    assert len(mattermost.api_requests("POST", "/api/v4/posts")) == 1


async def test_healthz_counts_pending_posts(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    mattermost.stop()
    async with participant(parley, slug_from(post), "Ada"):
        await wait_for_pending(parley, 1)

        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{parley.url}/healthz")).json()

    assert health["mattermost_posts_pending"] >= 1
    assert health["status"] == "ok"


async def test_restart_delivers_queued_updates(tmp_path, mattermost, bot) -> None:
    _, token = bot
    async with run_parley(tmp_path, mattermost, token) as parley:
        await sfu(mattermost, parley, "/sfu standup")
        post = await wait_for_bot_post(mattermost)
        slug = slug_from(post)
        mattermost.stop()
        async with participant(parley, slug, "Ada") as ada:
            await leave(ada)
        # the join and the leave wait in the outbox
        await wait_for_pending(parley, 2)

    mattermost.start()
    async with run_parley(tmp_path, mattermost, token):
        ended = await wait_for_version(
            mattermost, post.id, lambda p: p.message.endswith("has ended.")
        )

    assert field_values(ended)["Took part (1)"] == "Ada"
    versions = mattermost.post_history(post.id)
    # created, Ada joined, Ada left, ended
    assert len(versions) == 4
    assert len(bot_posts(mattermost)) == 1


async def test_rate_limited_updates_all_arrive(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    slug = slug_from(post)
    mattermost.rate_limit(per_second=5, burst=1)
    try:
        async with (
            participant(parley, slug, "Ada") as ada,
            participant(parley, slug, "Grace"),
        ):
            await leave(ada)
        await wait_for_version(
            mattermost, post.id, lambda p: p.message.endswith("has ended.")
        )
    finally:
        mattermost.rate_limit(None)

    assert len(mattermost.post_history(post.id)) == 6


async def test_proxy_errors_are_retried(mattermost, parley) -> None:
    mattermost.fail_api(3, status=502)

    await sfu(mattermost, parley, "/sfu standup")

    await wait_for_bot_post(mattermost)
    assert len(bot_posts(mattermost)) == 1


async def test_login_renewed_after_session_expiry(tmp_path, mattermost, bot) -> None:
    human = mattermost.directory.add_user("meetbot", teams=[mattermost.team])
    mattermost.set_password(human, "correct horse battery")
    mattermost.add_member(mattermost.channel, human)
    environ = {
        "PARLEY_MATTERMOST_USERNAME": "meetbot",
        "PARLEY_MATTERMOST_PASSWORD": "correct horse battery",
    }
    async with run_parley(tmp_path, mattermost, "", **environ) as parley:
        await sfu(mattermost, parley, "/sfu standup")
        post = await wait_for_bot_post(mattermost)
        mattermost.expire_sessions()

        async with participant(parley, slug_from(post), "Ada"):
            await wait_for_version(
                mattermost,
                post.id,
                lambda p: field_values(p).get("In the meeting (1)") == "Ada",
            )

    logins = mattermost.api_requests("POST", "/api/v4/users/login")
    assert len(logins) == 2


async def test_bot_outside_private_channel_falls_back(mattermost, parley) -> None:
    secret = mattermost.directory.add_channel(
        "secret", mattermost.team, members=[mattermost.user], channel_type="P"
    )

    outcome = await sfu(mattermost, parley, "/sfu standup", channel=secret)

    assert outcome.error is None
    posts = await mattermost.wait_for_post(secret.id)
    assert posts[0].source == "response_url"
    assert "/join/standup-" in posts[0].message
    assert bot_posts(mattermost, secret.id) == []


async def test_credentials_check_is_logged(tmp_path, mattermost, bot, caplog):
    caplog.set_level(logging.INFO, logger="parley")
    async with run_parley(tmp_path, mattermost, "not-a-valid-token"):
        await mattermost.wait_for(
            lambda: "rejected Parley's credentials" in caplog.text
        )

    bot_user, token = bot
    async with run_parley(tmp_path, mattermost, token):
        await mattermost.wait_for(lambda: "as @parley-bot" in caplog.text)

    assert token not in caplog.text


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


async def test_second_sfu_offers_the_open_meeting(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)

    outcome = await sfu(
        mattermost, parley, "/sfu other title", user=mattermost.other_user
    )

    [reply] = outcome.ephemeral
    assert "already open in this channel" in reply.message
    assert post.attachments[0]["title_link"] in reply.message
    assert len(bot_posts(mattermost)) == 1


async def test_new_opens_a_second_meeting(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    await wait_for_bot_post(mattermost)

    await sfu(mattermost, parley, "/sfu new retro")

    posts = await mattermost.wait_for(
        lambda: bot_posts(mattermost) if len(bot_posts(mattermost)) == 2 else None
    )
    assert posts[1].message == "@bob started a meeting: **retro**"


async def test_list_shows_open_meetings(mattermost, parley) -> None:
    empty = await sfu(mattermost, parley, "/sfu list")
    await sfu(mattermost, parley, "/sfu standup")
    parley.clock.advance(60)
    await sfu(mattermost, parley, "/sfu new retro")

    listed = await sfu(mattermost, parley, "/sfu list")

    assert "No meeting is open" in empty.ephemeral[0].message
    lines = listed.ephemeral[0].message.splitlines()
    assert lines[0] == "Open meetings in this channel:"
    assert "**retro**" in lines[1]
    assert "**standup**" in lines[2]


async def test_end_by_someone_else_is_refused(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)

    outcome = await sfu(mattermost, parley, "/sfu end", user=mattermost.other_user)

    assert "Only @bob, who started **standup**" in outcome.ephemeral[0].message
    assert await parley.meeting_state(slug_from(post)) is MeetingState.OPEN


async def test_channel_admin_may_end(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    mattermost.make_channel_admin(mattermost.channel, mattermost.other_user)

    outcome = await sfu(mattermost, parley, "/sfu end", user=mattermost.other_user)

    assert outcome.ephemeral[0].message == "You ended **standup** for everyone."
    assert await parley.meeting_state(slug_from(post)) is MeetingState.ENDED
    await wait_for_version(
        mattermost, post.id, lambda p: p.message.endswith("has ended.")
    )


async def test_starter_ends_with_command(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)

    async with participant(parley, slug_from(post), "Ada") as ada:
        await sfu(mattermost, parley, "/sfu end")
        frame = json.loads(await ada.recv())

    assert frame == {"type": "room_ended", "reason": "ended"}
    assert await parley.meeting_state(slug_from(post)) is MeetingState.ENDED


async def test_end_with_nothing_open(mattermost, parley) -> None:
    outcome = await sfu(mattermost, parley, "/sfu end")

    assert "nothing to end" in outcome.ephemeral[0].message


# --------------------------------------------------------------------------
# The End button
# --------------------------------------------------------------------------


async def test_starter_ends_with_button(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)

    outcome = await mattermost.click(post.id, "endmeeting", mattermost.user)

    assert outcome.error is None
    assert outcome.ephemeral_text == "You ended **standup** for everyone."
    assert await parley.meeting_state(slug_from(post)) is MeetingState.ENDED
    ended = await wait_for_version(
        mattermost, post.id, lambda p: p.message.endswith("has ended.")
    )
    assert "actions" not in ended.attachments[0]


async def test_button_refuses_other_users(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)

    # a user of its own: the module's stand-in keeps roles given by other tests
    carol = mattermost.directory.add_user(f"carol{id(post)}", teams=[mattermost.team])
    mattermost.add_member(mattermost.channel, carol)

    outcome = await mattermost.click(post.id, "endmeeting", carol)

    assert outcome.error is None
    assert outcome.ephemeral_text.startswith("Only @bob")
    assert await parley.meeting_state(slug_from(post)) is MeetingState.OPEN


async def test_button_on_ended_meeting(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)
    context = post.attachments[0]["actions"][0]["integration"]["context"]
    await sfu(mattermost, parley, "/sfu end")

    async with httpx.AsyncClient() as client:
        reply = await client.post(
            f"{parley.url}/mattermost/actions",
            json={"user_id": mattermost.user.id, "context": context},
        )

    assert reply.status_code == 200
    assert reply.json() == {"ephemeral_text": "**standup** has already ended."}


@pytest.mark.parametrize(
    "context",
    [
        {"action": "endmeeting", "target": "x", "signature": "0" * 64},
        {"action": "endmeeting"},
        None,
    ],
)
async def test_forged_click_is_rejected(mattermost, parley, context) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    post = await wait_for_bot_post(mattermost)

    async with httpx.AsyncClient() as client:
        reply = await client.post(
            f"{parley.url}/mattermost/actions",
            json={"user_id": mattermost.user.id, "context": context},
        )

    assert reply.status_code == 403
    assert reply.json()["error"] == "invalid_click"
    assert await parley.meeting_state(slug_from(post)) is MeetingState.OPEN


async def test_end_picks_the_callers_own_meeting(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    mine = await wait_for_bot_post(mattermost)
    parley.clock.advance(60)
    await sfu(mattermost, parley, "/sfu new retro", user=mattermost.other_user)

    outcome = await sfu(mattermost, parley, "/sfu end")

    assert outcome.ephemeral[0].message == "You ended **standup** for everyone."
    assert await parley.meeting_state(slug_from(mine)) is MeetingState.ENDED


async def test_meeting_live_in_another_process_is_not_ended(mattermost, parley) -> None:
    await sfu(mattermost, parley, "/sfu standup")
    slug = slug_from(await wait_for_bot_post(mattermost))
    service = parley.app.state.parley.service
    meeting = await service.find_open_meeting(slug)
    # Someone joined through another Parley process on the same database.
    await service.store.add_participant(
        meeting, "p-elsewhere", "Eve", parley.clock.now()
    )

    async with participant(parley, slug, "Ada") as ada:
        await leave(ada)
    await asyncio.sleep(1.5)  # longer than the 1 s grace period

    assert await parley.meeting_state(slug) is MeetingState.OPEN


async def test_simultaneous_sfu_opens_one_room(mattermost, parley) -> None:
    outcomes = await asyncio.gather(
        *(sfu(mattermost, parley, f"/sfu standup {number}") for number in range(6))
    )

    assert all(outcome.error is None for outcome in outcomes)
    await wait_for_bot_post(mattermost)
    await asyncio.sleep(0.5)  # any second post would be queued by now
    assert len(bot_posts(mattermost)) == 1
    offers = [
        outcome
        for outcome in outcomes
        if "already open in this channel" in outcome.ephemeral[0].message
    ]
    assert len(offers) == 5
