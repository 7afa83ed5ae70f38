"""Two Chromium participants meet through Parley and Janus, with real media."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import new_participant
from tests.e2e.meeting import MeetingPage, meet
from tests.e2e.processes import ParleyServer

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
