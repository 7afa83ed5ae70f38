"""The meeting page as a test drives it: join, find participants, read media stats.

State is read from the page's test hook `window.parley` rather than from its text,
so these helpers keep working when the wording or the layout changes.
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page

MEDIA_TIMEOUT_MS = 20_000
"""How long a remote video may take to show its first frame; it takes under 1 s here."""

_FIND_PARTICIPANT = """(name) => {
  const match = [...window.parley.participants.values()].find((p) => p.name === name);
  return match ? match.id : null;
}"""

_REMOTE_VIDEO_READY = """(id) => {
  const video = document.querySelector(`video[data-participant="${CSS.escape(id)}"]`);
  return video !== null && video.videoWidth > 0;
}"""

_INBOUND_BYTES = """async (id) => {
  const pc = window.parley.subscribers.get(id);
  const totals = { audio: 0, video: 0 };
  if (!pc) return totals;
  const report = await pc.getStats();
  report.forEach((stats) => {
    if (stats.type === "inbound-rtp") totals[stats.kind] += stats.bytesReceived;
  });
  return totals;
}"""


_CANDIDATE_ADDRESSES = """async (id) => {
  const pc = window.parley.subscribers.get(id);
  const addresses = new Set();
  const report = await pc.getStats();
  report.forEach((stats) => {
    if (stats.type === "local-candidate" || stats.type === "remote-candidate") {
      addresses.add(stats.address ?? stats.ip);
    }
  });
  return [...addresses];
}"""


class MeetingPage:
    """One participant's meeting page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))

    @classmethod
    def open(cls, context: BrowserContext, link: str) -> MeetingPage:
        meeting = cls(context.new_page())
        meeting.page.goto(link)
        return meeting

    def join(self, name: str) -> None:
        """Submit `name` and wait until Parley has replied with `joined`."""
        self.page.fill("#display-name", name)
        self.page.click("#join-button")
        self.page.wait_for_function("window.parley.state === 'joined'")

    def participant_id(self, name: str) -> str:
        """Wait until a remote participant called `name` is known; return their id."""
        handle = self.page.wait_for_function(_FIND_PARTICIPANT, arg=name)
        return handle.json_value()

    def wait_for_video(self, participant_id: str) -> None:
        """Wait until the participant's video has decoded a frame."""
        self.page.wait_for_function(
            _REMOTE_VIDEO_READY, arg=participant_id, timeout=MEDIA_TIMEOUT_MS
        )

    def video_width(self, participant_id: str) -> int:
        return self.page.locator(self._video_selector(participant_id)).evaluate(
            "(video) => video.videoWidth"
        )

    def tile_name(self, participant_id: str) -> str:
        tile = self.page.locator(f'.tile[data-participant="{participant_id}"] .name')
        return tile.inner_text()

    def has_tile(self, participant_id: str) -> bool:
        return self.page.locator(self._video_selector(participant_id)).count() > 0

    def inbound_bytes(self, participant_id: str) -> dict[str, int]:
        """Bytes received so far from the participant, by kind: audio and video."""
        return self.page.evaluate(_INBOUND_BYTES, participant_id)

    def candidate_addresses(self, participant_id: str) -> set[str]:
        """The addresses of every ICE candidate of the participant's connection."""
        return set(self.page.evaluate(_CANDIDATE_ADDRESSES, participant_id))

    def leave(self) -> None:
        self.page.click("#leave-button")
        self.page.wait_for_function("window.parley.state === 'left'")

    @staticmethod
    def _video_selector(participant_id: str) -> str:
        return f'video[data-participant="{participant_id}"]'


def meet(ada: MeetingPage, bob: MeetingPage) -> tuple[str, str]:
    """Join Ada, then Bob, and wait until each plays the other's video.

    Returns Bob's participant id on Ada's page and Ada's on Bob's page.
    """
    ada.join("Ada")
    bob.join("Bob")
    bob_on_ada = ada.participant_id("Bob")
    ada_on_bob = bob.participant_id("Ada")
    ada.wait_for_video(bob_on_ada)
    bob.wait_for_video(ada_on_bob)
    return bob_on_ada, ada_on_bob
