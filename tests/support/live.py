"""Parley on a real loopback port, with a fake media gateway, for HTTP clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from parley.app import create_app
from parley.config import Settings
from tests.support.fakes import FakeMediaGateway


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def live_parley(settings: Settings, port: int) -> Iterator[uvicorn.Server]:
    """Serve Parley on 127.0.0.1:`port` in a thread until the block ends."""
    app = create_app(settings, gateway=FakeMediaGateway())
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"Parley did not start on 127.0.0.1:{port} within 10 s")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
