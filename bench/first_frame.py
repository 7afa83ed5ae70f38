"""Measure join-to-first-remote-frame through Parley and, as a floor, Janus directly.

Two Chromium participants meet in a room. The first joins and publishes. Then the
second clicks "Join". The figure is the time from that click to the first decoded
frame of the first participant's video on the second participant's page. Both pages
set performance marks at those two moments, and the figure is read from them.

- `parley`: the meeting page at `/join/<slug>`, signaling through Parley, which talks to
  its own Janus.
- `direct`: `bench/direct/`, a page that speaks Janus's WebSocket API itself to a
  second Janus with the same configuration. It is the floor that Parley's signaling
  adds to.

The two kinds alternate, so a slow moment of the machine hits both. Everything runs in
a private network namespace, as in the end-to-end tests, so media stays on loopback.
Needs root. Prints one JSON object with each figure in milliseconds, their medians and
the ratio of the medians.

    .venv/bin/python bench/first_frame.py --iterations 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from tests.e2e.browser import launch_chromium, new_participant  # noqa: E402
from tests.e2e.netns import NetworkNamespace, free_port  # noqa: E402
from tests.e2e.processes import (  # noqa: E402
    JanusServer,
    ParleyServer,
    stop_process,
)
from tests.e2e.rooms import create_room  # noqa: E402
from tests.support.mattermost import MattermostStandIn  # noqa: E402

DIRECT_PAGE_DIR = REPO / "bench" / "direct"
STEP_TIMEOUT_MS = 15_000

# The videoroom settings Parley uses by default, so both paths carry the same media.
ROOM_PUBLISHERS = 16
ROOM_BITRATE = 1_024_000


def create_janus_room(janus_url: str) -> int:
    """Create a videoroom on the bare Janus and return its numeric id."""
    room = random.randint(1, 2**31)
    with connect(janus_url, subprotocols=["janus-protocol"], open_timeout=5) as ws:

        def call(message: dict) -> dict:
            ws.send(json.dumps({**message, "transaction": str(random.random())}))
            reply = json.loads(ws.recv(timeout=5))
            if reply["janus"] != "success":
                raise RuntimeError(f"Janus rejected {message['janus']}: {reply}")
            return reply

        session = call({"janus": "create"})["data"]["id"]
        handle = call({"janus": "attach", "session_id": session,
                       "plugin": "janus.plugin.videoroom"})["data"]["id"]  # fmt: skip
        body = {
            "request": "create",
            "room": room,
            "publishers": ROOM_PUBLISHERS,
            "bitrate": ROOM_BITRATE,
        }
        reply = call({"janus": "message", "session_id": session,
                      "handle_id": handle, "body": body})  # fmt: skip
        if reply["plugindata"]["data"].get("videoroom") != "created":
            raise RuntimeError(f"videoroom create failed: {reply['plugindata']}")
        call({"janus": "destroy", "session_id": session})
    return room


def join_time_ms(page: Page, prefix: str) -> float:
    """Wait for the page's first remote frame; return milliseconds since its join."""
    first_frame = f"{prefix}:first-remote-frame"
    page.wait_for_function(
        f"performance.getEntriesByName({first_frame!r}).length > 0",
        timeout=STEP_TIMEOUT_MS,
    )
    return page.evaluate(
        f"""() => performance.getEntriesByName({first_frame!r})[0].startTime
                 - performance.getEntriesByName({prefix + ":join"!r})[0].startTime"""
    )


def measure_parley(
    browser: Browser, parley: ParleyServer, mattermost: MattermostStandIn
) -> float:
    link = create_room(mattermost, parley.base_url, parley.token, "bench")
    first, second = new_participant(browser), new_participant(browser)
    try:
        host = first.new_page()
        host.goto(link)
        _join_parley(host, "Host")
        # Parley marks the host as publishing when Janus reports its media flowing
        # ("webrtcup"), a moment after the browser sees the connection up.
        host.wait_for_function(
            "window.parley.you?.publishing === true", timeout=STEP_TIMEOUT_MS
        )

        guest = second.new_page()
        guest.goto(link)
        _join_parley(guest, "Guest")
        return join_time_ms(guest, "parley")
    finally:
        first.close()
        second.close()


def _join_parley(page: Page, name: str) -> None:
    page.fill("#display-name", name)
    page.click("#join-button")


def measure_direct(browser: Browser, janus: JanusServer, page_url: str) -> float:
    room = create_janus_room(janus.ws_url)
    first, second = new_participant(browser), new_participant(browser)
    try:
        host = first.new_page()
        host.goto(f"{page_url}?janus={janus.ws_url}&room={room}&name=Host")
        host.click("#join")
        host.wait_for_function(
            "window.bench.publisher?.connectionState === 'connected'",
            timeout=STEP_TIMEOUT_MS,
        )

        guest = second.new_page()
        guest.goto(f"{page_url}?janus={janus.ws_url}&room={room}&name=Guest")
        guest.click("#join")
        return join_time_ms(guest, "bench")
    finally:
        first.close()
        second.close()


def serve_directory(directory: Path, port: int, log_path: Path) -> subprocess.Popen:
    """Serve `directory` over HTTP on 127.0.0.1:`port` until stopped."""
    command = [sys.executable, "-m", "http.server", str(port),
               "--bind", "127.0.0.1", "--directory", str(directory)]  # fmt: skip
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1).raise_for_status()
            return server
        except httpx.HTTPError:
            time.sleep(0.05)
    stop_process(server)
    raise RuntimeError(f"the static server for {directory} did not start")


def run(iterations: int, workdir: Path, namespace: NetworkNamespace) -> dict:
    janus = JanusServer(workdir / "janus")
    parley = ParleyServer(workdir / "parley", namespace.name)
    static_port = free_port()
    janus.start()
    static = None
    try:
        parley.start()
        static = serve_directory(DIRECT_PAGE_DIR, static_port, workdir / "static.log")
        page_url = f"http://127.0.0.1:{static_port}/index.html"
        with MattermostStandIn() as mattermost, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            measures: dict[str, Callable[[], float]] = {
                "parley": lambda: measure_parley(browser, parley, mattermost),
                "direct": lambda: measure_direct(browser, janus, page_url),
            }
            return collect(measures, iterations)
    finally:
        if static is not None:
            stop_process(static)
        parley.stop()
        janus.stop()


def collect(measures: dict[str, Callable[[], float]], iterations: int) -> dict:
    samples: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for iteration in range(iterations):
        # Alternate which kind goes first, so neither always runs on a cold start.
        order = names if iteration % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(round(measures[name](), 1))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "figure": "join click to first remote frame, second joiner, milliseconds",
        "iterations": iterations,
        "samples_ms": samples,
        "median_ms": medians,
        "ratio_parley_to_direct": round(medians["parley"] / medians["direct"], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--iterations",
        type=int,
        default=5,
        help="rooms measured per kind (default 5, at most 50)",
    )
    args = parser.parse_args()
    if not 1 <= args.iterations <= 50:
        parser.error(f"--iterations {args.iterations} is invalid; use 1 to 50")

    namespace = NetworkNamespace.create(f"parley-bench-{os.getpid()}")
    try:
        with tempfile.TemporaryDirectory() as tmp, namespace.entered():
            result = run(args.iterations, Path(tmp), namespace)
    finally:
        namespace.delete()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
