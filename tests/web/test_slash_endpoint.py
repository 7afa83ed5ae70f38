"""Parley's `/mattermost` endpoint, driven over loopback by the Mattermost stand-in.

Parley runs under uvicorn in the test's event loop with a fake media gateway, so
each test can ask the gateway and the meeting store what happened. The stand-in
sends exactly what Mattermost sends and reports what the user would see.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from parley.app import create_app
from parley.config import load_settings
from parley.meetings.model import MeetingState
from tests.support.fakes import FakeMediaGateway
from tests.support.mattermost import (
    CommandOutcome,
    MattermostStandIn,
    Post,
    serve_in_loop,
    webapp_command_line,
)

TOKEN = "q8w2e6r4t9y1u3i5o7p0a2s4dz"
OTHER_TOKEN = "z1x3c5v7b9n2m4k6j8h0g2f4ds"
# Links must use this address, never the one a request arrived on; nothing
# ever connects to it.
PUBLIC_URL = "https://meet.example.org"


@dataclass
class RunningParley:
    url: str
    app: FastAPI
    janus: FakeMediaGateway

    @property
    def command_url(self) -> str:
        return f"{self.url}/mattermost"

    async def meeting_count(self) -> int:
        return await self.app.state.parley.service.store.count_meetings()

    async def meeting_state(self, slug: str) -> MeetingState | None:
        meeting = await self.app.state.parley.service.store.get_meeting(slug)
        return None if meeting is None else meeting.state


@asynccontextmanager
async def run_parley(
    data_dir: Path, janus: FakeMediaGateway | None = None, **environ: str
) -> AsyncIterator[RunningParley]:
    """Serve Parley on a free loopback port with English replies."""
    environ = {
        "PARLEY_MATTERMOST_TOKENS": f"{OTHER_TOKEN},{TOKEN}",
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "PARLEY_LOCALE": "en",
        **environ,
    }
    janus = janus or FakeMediaGateway()
    app = create_app(load_settings(environ=environ), gateway=janus)
    async with serve_in_loop(app) as url:
        yield RunningParley(url, app, janus)


@pytest.fixture
async def parley(tmp_path: Path) -> AsyncIterator[RunningParley]:
    async with run_parley(tmp_path) as running:
        yield running


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


async def sfu(
    mattermost: MattermostStandIn, parley: RunningParley, typed: str, **options: str
) -> CommandOutcome:
    """Run what a user typed in the web app against Parley."""
    line = webapp_command_line(typed)
    return await mattermost.execute_command(
        parley.command_url, line, token=TOKEN, **options
    )


def slug_of(post: Post) -> str:
    return post.attachments[0]["title_link"].rsplit("/", 1)[1]


async def post_directly(url: str, **request: object) -> httpx.Response:
    """Send a request that did not come from Mattermost, as curl would."""
    async with httpx.AsyncClient() as client:
        return await client.post(url, **request)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Creating a meeting
# --------------------------------------------------------------------------


async def test_sfu_posts_join_link_in_channel(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await sfu(mattermost, parley, "/sfu")

    assert outcome.error is None
    post = mattermost.posts_in()[0]
    slug = slug_of(post)
    link = f"{PUBLIC_URL}/join/{slug}"
    assert link in post.message
    assert post.attachments[0]["title_link"] == link
    assert post.source == "command"
    assert outcome.ephemeral == []
    assert parley.janus.created != []
    assert await parley.meeting_state(slug) is MeetingState.OPEN


async def test_reply_is_json_with_exact_status_200(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await sfu(mattermost, parley, "/sfu standup")

    assert outcome.response is not None
    assert outcome.response.status_code == 200
    media_type = outcome.response.header("Content-Type").split(";")[0]
    assert media_type == "application/json"
    assert not outcome.redirected


@pytest.mark.parametrize("title", ["weekly sync", "周会", "Réunion 周会 🚀"])
async def test_title_shown_as_given(
    mattermost: MattermostStandIn, parley: RunningParley, title: str
) -> None:
    await sfu(mattermost, parley, f"/sfu {title}")

    post = mattermost.posts_in()[0]
    assert post.attachments[0]["title"] == title


async def test_title_whitespace_trimmed_and_collapsed(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    # An API client skips the web app's trimming, so Mattermost passes it all.
    await mattermost.execute_command(
        parley.command_url, "/sfu \t weekly   sync \r\n", token=TOKEN
    )

    assert mattermost.posts_in()[0].attachments[0]["title"] == "weekly sync"


async def test_title_after_newline_keeps_its_words(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    # The web app lower-cases the first word when a newline follows the trigger.
    await sfu(mattermost, parley, "/sfu\nWeekly Sync")

    assert mattermost.posts_in()[0].attachments[0]["title"] == "weekly Sync"


async def test_slack_markup_in_title_is_not_a_link(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    await sfu(mattermost, parley, "/sfu <https://evil.example|Click> <!channel>")

    post = mattermost.posts_in()[0]
    assert post.attachments[0]["title"] == "<https://evil.example|Click> <!channel>"
    assert "[Click](https://evil.example)" not in post.message
    assert "@channel" not in post.message


async def test_slug_has_readable_prefix_and_64_random_bits(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    await sfu(mattermost, parley, "/sfu Weekly Sync")
    await sfu(mattermost, parley, "/sfu new Weekly Sync")

    first, second = (slug_of(post) for post in mattermost.posts_in())
    prefix = "weekly-sync-"
    assert first.startswith(prefix)
    assert second.startswith(prefix)
    assert first != second
    random_part = first.removeprefix(prefix)
    alphabet = set("abcdefghijklmnopqrstuvwxyz234567")
    assert set(random_part) <= alphabet
    assert len(random_part) * math.log2(len(alphabet)) >= 64


async def test_link_never_built_from_host_header(parley: RunningParley) -> None:
    reply = await post_directly(
        parley.command_url,
        data={"token": TOKEN, "command": "/sfu", "text": "standup"},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )

    link = reply.json()["attachments"][0]["title_link"]
    assert link.startswith(f"{PUBLIC_URL}/join/")
    assert "evil.example" not in reply.text


async def test_get_command_works(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await sfu(mattermost, parley, "/sfu standup", method="G")

    assert outcome.error is None
    assert mattermost.posts_in()[0].attachments[0]["title"] == "standup"


@pytest.mark.parametrize("path", ["/mattermost", "/mattermost/"])
async def test_both_paths_answer_without_redirect(
    mattermost: MattermostStandIn, parley: RunningParley, path: str
) -> None:
    outcome = await mattermost.execute_command(
        parley.url + path, "/sfu standup", token=TOKEN
    )

    assert not outcome.redirected
    assert outcome.error is None
    assert len(mattermost.posts_in()) == 1


async def test_json_body_works(parley: RunningParley) -> None:
    reply = await post_directly(
        parley.command_url,
        json={"token": TOKEN, "command": "/sfu", "text": "standup"},
    )

    assert reply.status_code == 200
    assert reply.json()["response_type"] == "in_channel"
    assert parley.janus.created != []


# --------------------------------------------------------------------------
# Replies that only the invoking user sees
# --------------------------------------------------------------------------


async def test_help_is_ephemeral_usage(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await sfu(mattermost, parley, "/sfu help")

    assert outcome.error is None
    assert len(outcome.ephemeral) == 1
    assert "`/sfu <title>`" in outcome.ephemeral_messages[0]
    assert mattermost.posts_in() == []
    assert parley.janus.created == []


async def test_help_is_in_chinese_by_default(
    mattermost: MattermostStandIn, tmp_path: Path
) -> None:
    async with run_parley(tmp_path, PARLEY_LOCALE="") as parley:
        outcome = await sfu(mattermost, parley, "/sfu 帮助")

    assert "新建" in outcome.ephemeral_messages[0]


async def test_unknown_trigger_gets_ephemeral_reply(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    # An admin pointed a second command, /meet, at Parley's URL.
    outcome = await sfu(mattermost, parley, "/meet standup")

    assert outcome.response is not None
    assert outcome.response.status_code == 200
    assert outcome.error is None
    assert "`/sfu`" in outcome.ephemeral_messages[0]
    assert mattermost.posts_in() == []
    assert parley.janus.created == []
    assert await parley.meeting_count() == 0


async def test_text_over_4_kb_is_refused_politely(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await sfu(mattermost, parley, "/sfu " + "a" * 4097)

    assert outcome.error is None
    assert "4097 bytes" in outcome.ephemeral_messages[0]
    assert parley.janus.created == []
    assert await parley.meeting_count() == 0


async def test_ideographic_space_after_trigger_still_creates_room(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    # A Chinese input method types U+3000. The web app finds no ASCII space,
    # and the server's byte slicing leaves "\x80\x80" before the title.
    outcome = await sfu(mattermost, parley, "/sfu\u3000周会")

    assert outcome.error is None
    assert "周会" in mattermost.posts_in()[0].attachments[0]["title"]


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


async def test_token_in_form_alone_is_enough(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    # With an outgoing OAuth connection the header carries the OAuth token.
    outcome = await sfu(
        mattermost, parley, "/sfu standup", oauth_access_token="oauth-access"
    )

    assert outcome.error is None
    assert len(mattermost.posts_in()) == 1


async def test_token_in_header_alone_is_enough(parley: RunningParley) -> None:
    reply = await post_directly(
        parley.command_url,
        data={"command": "/sfu", "text": "standup"},
        headers={"Authorization": f"Token {TOKEN}"},
    )

    assert reply.status_code == 200
    assert reply.json()["response_type"] == "in_channel"


async def test_any_configured_token_is_accepted(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await mattermost.execute_command(
        parley.command_url, "/sfu standup", token=OTHER_TOKEN
    )

    assert outcome.error is None


async def test_wrong_token_creates_no_room(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    outcome = await mattermost.execute_command(
        parley.command_url, "/sfu standup", token="w" * 26
    )

    assert outcome.error is not None
    assert "returned response 401" in outcome.error.message
    assert outcome.response is not None
    assert outcome.response.header("Content-Type") == "application/json"
    assert json.loads(outcome.response.body)["error"] == "invalid_token"
    assert parley.janus.created == []
    assert await parley.meeting_count() == 0


async def test_missing_token_creates_no_room(
    mattermost: MattermostStandIn, parley: RunningParley
) -> None:
    # A command with no token sends neither the field value nor the header.
    via_mattermost = await mattermost.execute_command(
        parley.command_url, "/sfu standup", token=""
    )
    direct = await post_directly(
        parley.command_url, data={"command": "/sfu", "text": "x"}
    )

    assert via_mattermost.error is not None
    assert "returned response 401" in via_mattermost.error.message
    assert direct.status_code == 401
    assert direct.json()["error"] == "invalid_token"
    assert parley.janus.created == []
    assert await parley.meeting_count() == 0


async def test_bearer_header_is_not_a_command_token(parley: RunningParley) -> None:
    reply = await post_directly(
        parley.command_url,
        data={"command": "/sfu", "text": "x"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert reply.status_code == 401
    assert parley.janus.created == []


async def test_no_configured_token_answers_503(
    mattermost: MattermostStandIn, tmp_path: Path
) -> None:
    async with run_parley(tmp_path, PARLEY_MATTERMOST_TOKENS="") as parley:
        outcome = await mattermost.execute_command(
            parley.command_url, "/sfu standup", token=TOKEN
        )
        created = list(parley.janus.created)
        count = await parley.meeting_count()

    assert outcome.error is not None
    assert "returned response 503" in outcome.error.message
    assert outcome.response is not None
    assert "PARLEY_MATTERMOST_TOKENS" in json.loads(outcome.response.body)["message"]
    assert created == []
    assert count == 0


async def test_token_never_logged(
    mattermost: MattermostStandIn,
    parley: RunningParley,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")

    await sfu(mattermost, parley, "/sfu standup", method="G")
    await mattermost.execute_command(parley.command_url, "/sfu x", token="w" * 26)

    assert TOKEN not in caplog.text
    assert "w" * 26 not in caplog.text


# --------------------------------------------------------------------------
# Requests that did not come from Mattermost
# --------------------------------------------------------------------------


async def test_empty_body_is_rejected_as_unauthenticated(
    parley: RunningParley,
) -> None:
    reply = await post_directly(
        parley.command_url,
        content=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status_code == 401
    assert reply.headers["content-type"] == "application/json"
    assert parley.janus.created == []


async def test_empty_body_with_header_token_names_missing_command(
    parley: RunningParley,
) -> None:
    reply = await post_directly(
        parley.command_url, content=b"", headers={"Authorization": f"Token {TOKEN}"}
    )

    assert reply.status_code == 400
    assert reply.json()["error"] == "missing_command"
    assert parley.janus.created == []


async def test_raw_invalid_utf8_is_rejected(parley: RunningParley) -> None:
    body = f"token={TOKEN}&command=%2Fsfu&text=".encode() + b"\xff\xfe"

    reply = await post_directly(
        parley.command_url,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_encoding"
    assert parley.janus.created == []
    assert await parley.meeting_count() == 0


async def test_body_over_64_kb_is_rejected(parley: RunningParley) -> None:
    reply = await post_directly(
        parley.command_url,
        data={"token": TOKEN, "command": "/sfu", "text": "a" * 70_000},
    )

    assert reply.status_code == 413
    assert reply.json()["error"] == "too_large"
    assert parley.janus.created == []


async def test_multipart_body_is_unsupported(parley: RunningParley) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            parley.command_url,
            files={"token": (None, TOKEN), "command": (None, "/sfu")},
        )

    assert reply.status_code == 415
    assert reply.json() == {
        "error": "unsupported_media_type",
        "message": "Content-Type 'multipart/form-data' is not supported; send the "
        "command as application/x-www-form-urlencoded, as Mattermost does, or as "
        "JSON.",
    }
    assert parley.janus.created == []


async def test_body_without_content_type_is_read_as_form(
    parley: RunningParley,
) -> None:
    body = f"token={TOKEN}&command=%2Fsfu&text=standup".encode()
    async with httpx.AsyncClient() as client:
        reply = await client.post(parley.command_url, content=body)

    assert reply.status_code == 200
    assert reply.json()["attachments"][0]["title"] == "standup"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_not_allowed(
    parley: RunningParley, method: str
) -> None:
    async with httpx.AsyncClient() as client:
        reply = await client.request(
            method, parley.command_url, data={"token": TOKEN, "command": "/sfu"}
        )

    assert reply.status_code == 405
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {
        "error": "method_not_allowed",
        "message": f"Method Not Allowed: {method} /mattermost",
    }
    assert set(reply.headers["allow"].split(", ")) == {"GET", "POST"}
    assert parley.janus.created == []


# --------------------------------------------------------------------------
# Slow and failing Janus, and the delayed reply through response_url
# --------------------------------------------------------------------------


async def test_slow_janus_answers_creating_then_posts_link(
    mattermost: MattermostStandIn, tmp_path: Path
) -> None:
    janus = FakeMediaGateway(create_delay=3.0)
    async with run_parley(tmp_path, janus) as parley:
        outcome = await sfu(mattermost, parley, "/sfu standup")
        posts = await mattermost.wait_for_post(within=5)

    assert outcome.error is None
    # The reply waits up to reply_deadline (2 s) for Janus, well inside the 3 s
    # that Mattermost's documentation recommends.
    assert outcome.elapsed < 2.5
    assert "Creating" in outcome.ephemeral_messages[0]
    assert "standup" in outcome.ephemeral_messages[0]
    assert posts[0].source == "response_url"
    assert f"{PUBLIC_URL}/join/{slug_of(posts[0])}" in posts[0].message
    assert mattermost.hook(outcome.hook_id).use_count == 1


async def test_fast_janus_failure_is_told_in_plain_words(
    mattermost: MattermostStandIn, tmp_path: Path
) -> None:
    janus = FakeMediaGateway(fail=True)
    async with run_parley(tmp_path, janus) as parley:
        outcome = await sfu(mattermost, parley, "/sfu standup")

    assert outcome.error is None
    assert outcome.ephemeral_messages == [
        "Parley could not create the meeting room *standup*. Please try again."
    ]
    assert mattermost.posts_in() == []
    assert janus.created == []


async def test_slow_janus_failure_is_told_through_response_url(
    mattermost: MattermostStandIn, tmp_path: Path
) -> None:
    janus = FakeMediaGateway(create_delay=2.5, fail=True)
    async with run_parley(tmp_path, janus) as parley:
        outcome = await sfu(mattermost, parley, "/sfu standup")
        later = await mattermost.wait_for_ephemeral(count=2, within=5)
        count = await parley.meeting_count()

    assert "Creating" in outcome.ephemeral_messages[0]
    assert later[1].source == "response_url"
    assert later[1].message == (
        "Parley could not create the meeting room *standup*. Please try again."
    )
    assert mattermost.posts_in() == []
    assert janus.created == []
    assert count == 0


async def test_unreachable_janus_creates_nothing(
    mattermost: MattermostStandIn, tmp_path: Path
) -> None:
    janus = FakeMediaGateway()
    janus.is_ready = False
    async with run_parley(tmp_path, janus) as parley:
        outcome = await sfu(mattermost, parley, "/sfu standup")
        count = await parley.meeting_count()

    assert outcome.error is None
    assert "unavailable" in outcome.ephemeral_messages[0]
    assert janus.created == []
    assert count == 0


async def test_delayed_link_survives_mattermost_restart(
    mattermost: MattermostStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    janus = FakeMediaGateway(create_delay=2.5)
    async with run_parley(tmp_path, janus) as parley:
        await sfu(mattermost, parley, "/sfu standup")

        # Mattermost is down when the link is first due, back before the retry.
        await asyncio.to_thread(mattermost.stop)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(mattermost.start)
        posts = await mattermost.wait_for_post(within=6)

    assert "failed (attempt 1 of 3)" in caplog.text
    assert posts[0].source == "response_url"
    assert f"{PUBLIC_URL}/join/" in posts[0].message
