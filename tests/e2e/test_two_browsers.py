"""Two Chromium participants meet through Parley and Janus, with real media."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import new_participant
from tests.e2e.meeting import MeetingPage, meet
from tests.e2e.processes import ParleyServer
from tests.support.mattermost import MattermostStandIn, Post

pytestmark = pytest.mark.e2e

OpenMeeting = Callable[[str], MeetingPage]

STATS_INTERVAL_MS = 2000
"""Time between two reads of the receive counters (the fake devices never pause)."""


def test_participants_receive_each_others_media(
    room_link: str, open_meeting: OpenMeeting
) -> None:
    """Each page plays the other's video and receives both audio and video bytes."""
    ada = open_meeting(room_link)
    bob = open_meeting(room_link)

    bob_on_ada, ada_on_bob = meet(ada, bob)

    assert ada.video_width(bob_on_ada) > 0
    assert bob.video_width(ada_on_bob) > 0
    assert ada.tile_name(bob_on_ada) == "Bob"
    assert bob.tile_name(ada_on_bob) == "Ada"

    ada_before = ada.inbound_bytes(bob_on_ada)
    bob_before = bob.inbound_bytes(ada_on_bob)
    ada.page.wait_for_timeout(STATS_INTERVAL_MS)
    ada_after = ada.inbound_bytes(bob_on_ada)
    bob_after = bob.inbound_bytes(ada_on_bob)

    assert ada_after["video"] > ada_before["video"]
    assert ada_after["audio"] > ada_before["audio"]
    assert bob_after["video"] > bob_before["video"]
    assert bob_after["audio"] > bob_before["audio"]


def test_media_stays_on_loopback(room_link: str, open_meeting: OpenMeeting) -> None:
    """Every ICE candidate on both sides of a subscription is 127.0.0.1."""
    ada = open_meeting(room_link)
    bob = open_meeting(room_link)
    ada.join("Ada")
    bob.join("Bob")
    bob_on_ada = ada.participant_id("Bob")
    ada.wait_for_video(bob_on_ada)

    assert ada.candidate_addresses(bob_on_ada) == {"127.0.0.1"}


def test_leaving_removes_tile(room_link: str, open_meeting: OpenMeeting) -> None:
    """When one participant leaves, the other page drops their tile."""
    ada = open_meeting(room_link)
    bob = open_meeting(room_link)
    ada.join("Ada")
    bob.join("Bob")
    bob_on_ada = ada.participant_id("Bob")
    ada.wait_for_video(bob_on_ada)

    bob.leave()

    ada.page.wait_for_selector(
        f'.tile[data-participant="{bob_on_ada}"]', state="detached"
    )
    assert not ada.has_tile(bob_on_ada)
    assert ada.page.evaluate("window.parley.participants.size") == 0


def test_channel_post_follows_the_meeting(
    room_link: str, open_meeting: OpenMeeting, mattermost: MattermostStandIn
) -> None:
    """The bot's post lists both browsers, then shows the meeting ended."""
    ada = open_meeting(room_link)
    bob = open_meeting(room_link)
    meet(ada, bob)
    post_id = _meeting_post(mattermost, room_link).id

    in_meeting = _wait_for_post(
        mattermost, post_id, lambda fields: fields.get("In the meeting (2)")
    )
    ada.leave()
    bob.leave()
    ended = _wait_for_post(
        mattermost, post_id, lambda fields: fields.get("Took part (2)")
    )

    assert sorted(in_meeting.split(", ")) == ["Ada", "Bob"]
    assert sorted(ended.split(", ")) == ["Ada", "Bob"]


def _meeting_post(mattermost: MattermostStandIn, link: str) -> Post:
    for post in mattermost.posts_in():
        attachments = post.attachments
        if (
            post.source == "api"
            and attachments
            and attachments[0].get("title_link") == link
        ):
            return post
    raise AssertionError(f"the bot made no post for {link}")


def _wait_for_post(
    mattermost: MattermostStandIn, post_id: str, probe: Callable[[dict], str | None]
) -> str:
    """Poll the post (up to 10 s) until `probe` finds a value in its fields."""
    deadline = time.monotonic() + 10
    fields: dict = {}
    while time.monotonic() < deadline:
        post = mattermost.post(post_id)
        fields = {
            field["title"]: field["value"]
            for attachment in (post.attachments if post else [])
            for field in attachment.get("fields", [])
        }
        value = probe(fields)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(
        f"post {post_id} did not change as expected within 10 s; it shows {fields}"
    )


def test_unknown_room_shows_not_found(parley: ParleyServer, browser: Browser) -> None:
    """A link to a room that does not exist shows the bilingual 404 page."""
    context = new_participant(browser)
    page = context.new_page()

    response = page.goto(f"{parley.base_url}/join/no-such-room")
    text = page.inner_text("body")
    context.close()

    assert response is not None
    assert response.status == 404
    assert "does not exist" in text
    assert "会议室不存在" in text
    assert "no-such-room" in text


def test_healthz_reports_janus_ready(parley: ParleyServer) -> None:
    """The health check that gated start-up returns JSON once Janus is usable."""
    response = httpx.get(f"{parley.base_url}/healthz", timeout=5.0)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
