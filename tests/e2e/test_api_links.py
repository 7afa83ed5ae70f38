"""Links from the MiroTalk-compatible API, opened in real browsers."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import new_participant
from tests.e2e.meeting import MeetingPage, meet
from tests.e2e.processes import API_SECRET, ParleyServer

pytestmark = pytest.mark.e2e


def api_join(parley: ParleyServer, **body: object) -> str:
    response = httpx.post(
        f"{parley.base_url}/api/v1/join",
        headers={"authorization": API_SECRET},
        json=body,
        timeout=10.0,
    )
    assert response.status_code == 200, response.text
    return response.json()["join"]


def open_page(browser: Browser, link: str) -> MeetingPage:
    context = new_participant(browser)
    page = context.new_page()
    page.goto(link)
    return MeetingPage(page)


def test_api_join_links_meet_with_options(parley: ParleyServer, browser: Browser):
    """Two API links to one password room meet; name and muted mic follow the link."""
    room = "api-e2e-room"
    ada_link = api_join(
        parley, room=room, roomPassword="s3cret-pass", name="Ada", audio=False
    )
    bob_link = api_join(parley, room=room, roomPassword="s3cret-pass", name="Bob")
    ada = open_page(browser, ada_link)
    bob = open_page(browser, bob_link)

    assert ada.page.input_value("#display-name") == "Ada"
    ada.page.click("#join-button")
    ada.page.wait_for_function("window.parley.state === 'joined'")
    bob.page.click("#join-button")
    bob.page.wait_for_function("window.parley.state === 'joined'")
    ada_on_bob = bob.participant_id("Ada")
    bob.wait_for_video(ada_on_bob)

    assert bob.video_width(ada_on_bob) > 0
    bob.page.wait_for_function(
        "id => window.parley.participants.get(id)?.audio === false", arg=ada_on_bob
    )
    ada.page.context.close()
    bob.page.context.close()


def test_link_without_password_is_asked_for_it(parley: ParleyServer, browser: Browser):
    """A plain link to a password room prompts; a cancelled prompt shows why."""
    api_join(parley, room="api-e2e-locked", roomPassword="s3cret-pass", name="Ada")
    page = open_page(browser, f"{parley.base_url}/join/api-e2e-locked")
    prompts: list[str] = []

    def dismiss(dialog) -> None:
        prompts.append(dialog.message)
        dialog.dismiss()

    page.page.on("dialog", dismiss)
    page.page.fill("#display-name", "Eve")
    page.page.click("#join-button")
    page.page.wait_for_function("window.parley.state === 'failed'")

    assert prompts == ["This meeting room has a password. Enter it to join:"]
    assert page.page.evaluate("window.parley.you") is None
    page.page.context.close()


def test_api_meeting_link_is_a_working_room(parley: ParleyServer, open_meeting):
    """The URL from POST /api/v1/meeting is a room two participants meet in."""
    response = httpx.post(
        f"{parley.base_url}/api/v1/meeting",
        headers={"authorization": API_SECRET},
        timeout=10.0,
    )
    link = response.json()["meeting"]
    ada = open_meeting(link)
    bob = open_meeting(link)

    bob_on_ada, ada_on_bob = meet(ada, bob)

    assert response.status_code == 200
    assert link.startswith(f"{parley.base_url}/join/")
    assert ada.video_width(bob_on_ada) > 0
    assert bob.video_width(ada_on_bob) > 0
