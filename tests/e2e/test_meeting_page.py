"""The meeting page against a scripted Parley: joins, departures, errors, languages.

These tests need Chromium but no Janus: `FakeParley` serves the page and plays the
server's side of the WebSocket. Real media is covered by test_two_browsers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser import new_participant
from tests.e2e.fake_parley import FakeParley, participant

pytestmark = pytest.mark.e2e

OpenFake = Callable[..., tuple[FakeParley, Page]]


@pytest.fixture
def open_fake(browser: Browser) -> Iterator[OpenFake]:
    """Open the meeting page of a `FakeParley` in a new context, in `locale`.

    `init_script` runs in the page before its own scripts, to replace browser APIs.
    """
    contexts = []

    def open_page(
        locale: str = "en-US", init_script: str | None = None
    ) -> tuple[FakeParley, Page]:
        context = new_participant(browser, locale=locale)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        fake = FakeParley(context)
        page = context.new_page()
        page.goto(fake.link)
        return fake, page

    yield open_page
    for context in contexts:
        context.close()


def join(page: Page, name: str) -> None:
    page.fill("#display-name", name)
    page.click("#join-button")
    page.wait_for_function("window.parley.state === 'joined'")


def test_join_sends_trimmed_name(open_fake: OpenFake) -> None:
    fake, page = open_fake()

    join(page, "  Ada Lovelace  ")

    assert fake.received[0] == {"type": "join", "name": "Ada Lovelace"}
    assert page.inner_text("#local-name") == "Ada Lovelace (you)"


def test_join_publishes_offer(open_fake: OpenFake) -> None:
    fake, page = open_fake()

    join(page, "Ada")
    page.wait_for_function("window.parley.publisher !== null")
    page.wait_for_timeout(300)

    publish = next(frame for frame in fake.received if frame["type"] == "publish")
    assert publish["sdp"].startswith("v=0")
    assert "m=audio" in publish["sdp"]
    assert "m=video" in publish["sdp"]
    trickles = [frame for frame in fake.received if frame["type"] == "trickle"]
    assert trickles, "no candidate was trickled"
    assert all(frame["participant"] is None for frame in trickles)
    assert fake.received_types().index("publish") < fake.received_types().index(
        "trickle"
    )


def test_empty_name_is_rejected(open_fake: OpenFake) -> None:
    fake, page = open_fake()

    page.fill("#display-name", "   ")
    page.click("#join-button")

    assert page.inner_text("#name-hint") == "Enter a name of 1 to 64 characters."
    assert page.evaluate("window.parley.state") == "lobby"
    assert fake.received == []


def test_name_is_remembered(open_fake: OpenFake) -> None:
    _, page = open_fake()
    join(page, "Ada")

    page.reload()

    assert page.input_value("#display-name") == "Ada"


def test_listed_publisher_is_subscribed(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    fake.others = [participant("p-bob", "Bob", publishing=True)]

    join(page, "Ada")
    page.wait_for_function("window.parley.subscribers.has('p-bob')")

    assert {"type": "subscribe", "participant": "p-bob"} in fake.received
    assert page.inner_text('.tile[data-participant="p-bob"] .name') == "Bob"


def test_participant_join_and_leave(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")

    fake.send({"type": "participant_joined", "participant": participant("p-cy", "Cy")})
    page.wait_for_selector('.tile[data-participant="p-cy"]')
    joined_notice = page.inner_text("#notices")
    fake.send({"type": "participant_left", "participant": "p-cy"})
    page.wait_for_selector('.tile[data-participant="p-cy"]', state="detached")

    assert "Cy joined" in joined_notice
    assert "Cy left" in page.inner_text("#notices")
    assert page.evaluate("window.parley.participants.size") == 0
    assert page.is_visible("#waiting")


def test_update_after_leave_ignored(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    fake.others = [participant("p-bob", "Bob", publishing=True)]
    join(page, "Ada")

    fake.send({"type": "participant_left", "participant": "p-bob"})
    departed = participant("p-bob", "Bob", publishing=False)
    fake.send({"type": "participant_updated", "participant": departed})
    page.wait_for_selector('.tile[data-participant="p-bob"]', state="detached")
    page.wait_for_timeout(200)

    assert page.locator(".tile.remote").count() == 0
    assert page.evaluate("window.parley.participants.size") == 0


def test_stream_available_subscribes_once(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")
    fake.send({"type": "participant_joined", "participant": participant("p-cy", "Cy")})

    fake.send({"type": "stream_available", "participant": "p-cy"})
    fake.send({"type": "stream_available", "participant": "p-cy"})
    page.wait_for_function("window.parley.subscribers.has('p-cy')")
    page.wait_for_timeout(200)

    assert fake.received.count({"type": "subscribe", "participant": "p-cy"}) == 1


def test_own_update_makes_no_tile(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")

    you = {**fake.you, "publishing": True}
    fake.send({"type": "participant_updated", "participant": you})
    fake.send({"type": "stream_available", "participant": you["id"]})
    page.wait_for_timeout(200)

    assert page.locator(".tile.remote").count() == 0
    assert page.evaluate("window.parley.you.publishing") is True
    assert "subscribe" not in fake.received_types()


def test_muted_participant_shows_badge(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    fake.others = [participant("p-bob", "Bob")]
    join(page, "Ada")

    muted = participant("p-bob", "Bob", audio=False, video=False)
    fake.send({"type": "participant_updated", "participant": muted})
    badge = page.locator('.tile[data-participant="p-bob"] .badge-muted')
    badge.wait_for()

    assert badge.inner_text() == "muted"
    assert page.is_visible('.tile[data-participant="p-bob"] .badge-camera')


def test_mute_button_sends_media(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")
    page.wait_for_function("window.parley.publisher !== null")

    page.click("#mic-button")
    page.wait_for_function(
        "document.querySelector('#mic-button').textContent === 'Unmute'"
    )

    assert {"type": "media", "audio": False, "video": True} in fake.received
    assert page.get_attribute("#mic-button", "aria-pressed") == "true"


DENY_CAMERA = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""


def test_denied_camera_still_joins(open_fake: OpenFake) -> None:
    fake, page = open_fake(init_script=DENY_CAMERA)

    join(page, "Ada")
    page.wait_for_selector("#error:not([hidden])")

    assert "access was denied" in page.inner_text("#error-text")
    assert page.evaluate("window.parley.state") == "joined"
    assert page.evaluate("window.parley.publisher") is None
    assert {"type": "media", "audio": False, "video": False} in fake.received
    assert page.is_disabled("#mic-button")


def test_room_ended_shows_message(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")

    fake.send({"type": "room_ended", "reason": "ended_by_host"})
    page.wait_for_function("window.parley.state === 'ended'")

    assert page.inner_text("#error-text") == "The meeting has ended."
    assert not page.is_visible("#rejoin-button")
    assert not page.is_visible("#controls")


def test_fatal_error_shows_message(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")

    fake.send(
        {
            "type": "error",
            "code": "media_unavailable",
            "message": "The media server is unavailable; try again in a minute.",
            "fatal": True,
        }
    )
    page.wait_for_function("window.parley.state === 'failed'")

    assert "media server is not available" in page.inner_text("#error-text")
    assert page.is_visible("#rejoin-button")


def test_lost_connection_offers_rejoin(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")

    fake.close()
    page.wait_for_function("window.parley.state === 'failed'")

    assert "connection to the meeting server was lost" in page.inner_text("#error-text")
    assert page.is_visible("#rejoin-button")


def test_leave_sends_leave(open_fake: OpenFake) -> None:
    fake, page = open_fake()
    join(page, "Ada")

    page.click("#leave-button")
    page.wait_for_function("window.parley.state === 'left'")
    page.wait_for_timeout(100)

    assert fake.received_types()[-1] == "leave"
    assert page.inner_text("#error-text") == "You left the meeting."
    assert page.is_visible("#rejoin-button")


def test_chinese_browser_gets_chinese(open_fake: OpenFake) -> None:
    fake, page = open_fake(locale="zh-CN")

    join(page, "小明")
    fake.send({"type": "room_ended", "reason": "ended_by_host"})
    page.wait_for_function("window.parley.state === 'ended'")

    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("#error-text") == "会议已结束。"
