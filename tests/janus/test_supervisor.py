"""JanusSupervisor with the real Janus, each test on its own port."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import pytest

from parley.errors import JanusUnavailable
from parley.janus import JanusProcessSettings, JanusStatus, JanusSupervisor
from parley.janus.supervisor import ice_interface_warnings, interface_flags
from tests.janus.conftest import requires_janus

MISSING_MESSAGE = (
    "Janus is not installed: no 'parley-test-no-janus' executable on PATH. "
    "Install the Debian package janus, or set janus.url to use an external Janus."
)


async def wait_for_state(supervisor: JanusSupervisor, state: str) -> JanusStatus:
    """Wait up to 10 s for `supervisor` to enter `state`."""
    reached = asyncio.Event()

    def check(status: JanusStatus) -> None:
        if status.state == state:
            reached.set()

    supervisor.add_listener(check)
    if supervisor.status.state != state:
        async with asyncio.timeout(10):
            await reached.wait()
    return supervisor.status


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@requires_janus
async def test_started_janus_is_running(own_janus: JanusSupervisor) -> None:
    status = own_janus.status

    assert status.state == "running"
    assert status.message == f"Janus 1.1.2 is running at {status.ws_url}."
    assert status.pid is not None
    assert status.restarts == 0


@requires_janus
async def test_killed_janus_is_restarted(
    own_janus: JanusSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    first_pid = own_janus.status.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)
    await wait_for_state(own_janus, "restarting")
    status = await wait_for_state(own_janus, "running")

    assert status.restarts == 1
    assert status.pid not in (None, first_pid)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith(
        "Janus exited with signal SIGKILL; restarting in 0.1 s (restart 1). "
        "Last output: "
    )


@requires_janus
async def test_stop_terminates_janus(own_janus: JanusSupervisor) -> None:
    pid = own_janus.status.pid
    assert pid is not None

    await own_janus.stop()

    assert own_janus.status.state == "stopped"
    assert own_janus.status.pid is None
    assert not process_exists(pid)


@requires_janus
async def test_janus_output_goes_to_log_file(own_janus: JanusSupervisor) -> None:
    log_file = own_janus.settings.log_file
    assert log_file is not None

    await own_janus.stop()

    assert "Starting Meetecho Janus" in log_file.read_text()


@requires_janus
async def test_listeners_hear_state_changes(
    janus_settings: JanusProcessSettings,
) -> None:
    supervisor = JanusSupervisor(janus_settings)
    states: list[str] = []
    supervisor.add_listener(lambda status: states.append(status.state))

    await supervisor.start()
    await supervisor.stop()

    assert states == ["starting", "running", "stopped"]


@requires_janus
async def test_busy_port_fails_start(janus_settings: JanusProcessSettings) -> None:
    supervisor = JanusSupervisor(janus_settings, restart_delay=5)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", janus_settings.ws_port))
        squatter.listen()

        with pytest.raises(JanusUnavailable) as caught:
            await supervisor.start()
        await asyncio.sleep(0.05)  # let the monitor report the failure
        status = supervisor.status
        await supervisor.stop()

    port = janus_settings.ws_port
    expected = (
        f"Janus's WebSocket port {port} on 127.0.0.1 is already in use by another "
        "process; stop it, or set janus.ws_port (PARLEY_JANUS_WS_PORT) to a free port"
    )
    assert str(caught.value) == f"{expected}."
    assert status.state == "failed"
    assert status.message.startswith(f"{expected}; restarting in 5 s (restart 1).")


async def test_missing_binary_reports_missing(
    janus_settings: JanusProcessSettings,
) -> None:
    supervisor = JanusSupervisor(janus_settings, binary="parley-test-no-janus")

    with pytest.raises(JanusUnavailable) as caught:
        await supervisor.start()

    assert str(caught.value) == MISSING_MESSAGE
    assert supervisor.status.state == "missing"
    assert supervisor.status.message == MISSING_MESSAGE
    assert supervisor.status.pid is None


async def test_default_binary_names_janus_when_missing(
    janus_settings: JanusProcessSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    supervisor = JanusSupervisor(janus_settings)

    with pytest.raises(JanusUnavailable) as caught:
        await supervisor.start()

    assert str(caught.value) == (
        "Janus is not installed: no 'janus' executable on PATH. Install the "
        "Debian package janus, or set janus.url to use an external Janus."
    )


def test_interface_warnings_name_missing_and_loopback() -> None:
    flags = {"lo": 0x9, "pbr0": 0x1003}

    warnings = ice_interface_warnings(["lo", "pbr0", "eht0", "10.0."], flags.get)

    assert warnings == [
        "ICE interface 'lo' is a loopback interface, which Janus skips; see the "
        "README on keeping media on one machine.",
        "ICE interface 'eht0' does not exist here; Janus will gather candidates on "
        "every other interface. Check janus.interfaces.",
    ]


def test_interface_flags_reads_this_namespace() -> None:
    loopback = interface_flags("lo")

    assert loopback is not None
    assert loopback & 0x8
    assert interface_flags("no-such-if0") is None
