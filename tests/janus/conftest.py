"""Fixtures for the Janus adapter: a fake Janus, and real ones on loopback ports."""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from parley.janus import JanusGateway, JanusProcessSettings, JanusSupervisor
from tests.janus.fakes import FakeJanus

JANUS_MISSING = shutil.which("janus") is None
requires_janus = pytest.mark.skipif(
    JANUS_MISSING, reason="needs Janus: install the Debian package janus"
)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_settings(directory: Path) -> JanusProcessSettings:
    """Settings for a Janus on a free loopback port, configured in `directory`."""
    return JanusProcessSettings(
        config_dir=directory,
        ws_port=free_port(),
        rtp_port_range="40000-40999",
        log_file=directory / "janus.log",
    )


@pytest_asyncio.fixture
async def fake_janus() -> AsyncIterator[FakeJanus]:
    fake = FakeJanus()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def gateway(fake_janus: FakeJanus) -> AsyncIterator[JanusGateway]:
    connected = JanusGateway(fake_janus.url, request_timeout=2)
    await connected.connect()
    yield connected
    await connected.close()


@pytest.fixture
def janus_settings(tmp_path: Path) -> JanusProcessSettings:
    return process_settings(tmp_path / "janus")


@pytest_asyncio.fixture
async def own_janus(
    janus_settings: JanusProcessSettings,
) -> AsyncIterator[JanusSupervisor]:
    """A real Janus for one test, which that test may kill."""
    if JANUS_MISSING:
        pytest.skip("needs Janus: install the Debian package janus")
    supervisor = JanusSupervisor(janus_settings, restart_delay=0.1)
    await supervisor.start()
    yield supervisor
    await supervisor.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_janus(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[JanusSupervisor]:
    """One real Janus for the whole test session; tests must not stop it."""
    if JANUS_MISSING:
        pytest.skip("needs Janus: install the Debian package janus")
    settings = process_settings(tmp_path_factory.mktemp("shared-janus"))
    supervisor = JanusSupervisor(settings)
    await supervisor.start()
    yield supervisor
    await supervisor.stop()
