"""Fixtures that run Parley, its Janus and Chromium with real media, on loopback only.

Janus and Chromium skip loopback interfaces when they gather ICE candidates, and fall
back to the machine's external interface. So the whole end-to-end package runs in a
private network namespace (see `tests.e2e.netns`), whose only non-loopback interface
is an empty bridge holding 127.0.0.1/32; Janus's `ice_enforce_list` names it.

How the processes get into the namespace: the `namespace` fixture creates it with
`ip netns add`, then moves pytest's main thread into it with setns(2) on
/run/netns/<name>, keeping a descriptor of the original namespace to return to at
teardown. Every subprocess started afterwards inherits the namespace from that
thread: `parley serve` and the Janus it starts, Playwright's driver and the
Chromium it launches. So does every thread it starts, such as the Mattermost
stand-in's server thread. The test's own HTTP requests to Parley are made from the same
thread, so they reach 127.0.0.1 inside the namespace too. Nothing can fall back to
the host's network: when the namespace cannot be created, every test here is skipped
with the reason.

Only `parley serve` also gets an `ip netns exec` prefix. It changes nothing about
the network, but it mounts the namespace's own /sys for Parley, whose Janus
supervisor reads /sys/class/net to check the ICE interface. Under setns alone,
/sys still describes the host's interfaces.

One Parley (with its Janus) and one Chromium serve the whole package; each test
opens its own browser contexts and its own room.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.browser import launch_chromium, new_participant
from tests.e2e.meeting import MeetingPage
from tests.e2e.netns import NamespaceError, NetworkNamespace
from tests.e2e.processes import ParleyServer, ServerError
from tests.e2e.rooms import create_room
from tests.support.mattermost import MattermostStandIn


@pytest.fixture(scope="package")
def namespace() -> Iterator[NetworkNamespace]:
    """A private network namespace that pytest's main thread is inside of."""
    name = f"parley-e2e-{os.getpid()}"
    try:
        created = NetworkNamespace.create(name)
    except NamespaceError as exc:
        pytest.skip(f"cannot create network namespace {name!r}: {exc}")
    try:
        with created.entered():
            yield created
    finally:
        created.delete()


@pytest.fixture(scope="package")
def parley(
    namespace: NetworkNamespace,
    tmp_path_factory: pytest.TempPathFactory,
    mattermost: MattermostStandIn,
) -> Iterator[ParleyServer]:
    """`parley serve`, with its own Janus, healthy and inside `namespace`.

    Its channel bot posts to the stand-in in English, and a meeting ends 1 s after
    its last participant left.
    """
    _, bot_token = mattermost.add_bot("parley-e2e", channels=[mattermost.channel])
    server = ParleyServer(tmp_path_factory.mktemp("parley"), namespace.name)
    server.extra_environment = {
        "PARLEY_MATTERMOST_URL": mattermost.site_url,
        "PARLEY_MATTERMOST_BOT_TOKEN": bot_token,
        "PARLEY_MATTERMOST_CALLBACK_URL": server.base_url,
        "PARLEY_MEETING_GRACE_SECONDS": "1",
        "PARLEY_LOCALE": "en",
    }
    try:
        server.start()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def mattermost(namespace: NetworkNamespace) -> Iterator[MattermostStandIn]:
    """The Mattermost stand-in, on 127.0.0.1 inside `namespace`."""
    with MattermostStandIn() as standin:
        yield standin


@pytest.fixture
def room_link(parley: ParleyServer, mattermost: MattermostStandIn) -> str:
    """The link of a new room, made by `/sfu standup` through the stand-in."""
    return create_room(mattermost, parley.base_url, parley.token, "standup")


@pytest.fixture(scope="package")
def browser(namespace: NetworkNamespace) -> Iterator[Browser]:
    """Headless Chromium with a fake camera and microphone, inside `namespace`."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_meeting(browser: Browser) -> Iterator[Callable[[str], MeetingPage]]:
    """Open a meeting link as a new participant; closed again after the test.

    Each page's console is printed at teardown, which pytest shows for failed tests.
    """
    pages: list[MeetingPage] = []

    def open_link(link: str) -> MeetingPage:
        page = MeetingPage.open(new_participant(browser), link)
        pages.append(page)
        return page

    yield open_link
    for number, page in enumerate(pages, start=1):
        print(f"--- console of participant {number} ---")
        print("\n".join(page.console))
        page.page.context.close()
