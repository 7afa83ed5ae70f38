"""JanusController: start, health, and reconnects after Janus restarts."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from parley.janus import JanusController, JanusProcessSettings, JanusSupervisor
from tests.janus.conftest import free_port, requires_janus
from tests.janus.fakes import FakeJanus


@requires_janus
async def test_managed_controller_is_ready(
    janus_settings: JanusProcessSettings,
) -> None:
    supervisor = JanusSupervisor(janus_settings)
    controller = JanusController(janus_settings.ws_url, supervisor)

    await controller.start()
    status = controller.status()
    pid = supervisor.status.pid
    await controller.stop()

    assert status == {
        "janus": "ok",
        "detail": f"Connected to Janus 1.1.2 at {janus_settings.ws_url}.",
        "url": janus_settings.ws_url,
        "managed": True,
        "state": "running",
        "pid": pid,
        "restarts": 0,
    }


@requires_janus
async def test_controller_reconnects_after_restart(
    janus_settings: JanusProcessSettings,
) -> None:
    supervisor = JanusSupervisor(janus_settings, restart_delay=0.1)
    controller = JanusController(janus_settings.ws_url, supervisor, retry_delay=0.05)
    reconnected = asyncio.Event()
    controller.add_reconnect_listener(reconnected.set)
    await controller.start()
    room = 71
    await controller.rooms.create_room(
        room, description="x", max_publishers=2, bitrate=64000
    )
    pid = supervisor.status.pid
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(10):
        await reconnected.wait()

    assert await controller.wait_ready(5)
    assert controller.status()["restarts"] == 1
    # the room died with the old Janus, and the control session reopened itself
    assert not await controller.rooms.room_exists(room)
    await controller.stop()


async def test_async_reconnect_listener_is_awaited(fake_janus: FakeJanus) -> None:
    controller = JanusController(fake_janus.url, None, retry_delay=0.05)
    calls: list[str] = []
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        await asyncio.sleep(0)
        calls.append("reconnected")
        reconnected.set()

    controller.add_reconnect_listener(on_reconnect)
    await controller.start()

    await fake_janus.drop()
    async with asyncio.timeout(5):
        await reconnected.wait()

    assert calls == ["reconnected"]
    assert controller.ready
    await controller.stop()


async def test_start_without_janus_does_not_raise() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    controller = JanusController(url, None, request_timeout=1, retry_delay=0.05)

    await controller.start()
    status = controller.status()
    ready = await controller.wait_ready(0.1)
    await controller.stop()

    assert not ready
    assert status == {
        "janus": "unavailable",
        "detail": f"Cannot connect to Janus at {url}: connection refused; "
        "is it running?",
        "url": url,
        "managed": False,
        "restarts": 0,
    }


async def test_controller_connects_when_janus_appears(
    fake_janus: FakeJanus,
) -> None:
    await fake_janus.stop()
    port = int(fake_janus.url.rsplit(":", 1)[1])
    controller = JanusController(fake_janus.url, None, retry_delay=0.05)
    await controller.start()
    assert not controller.ready

    late_janus = FakeJanus()
    await late_janus.start(port=port)
    ready = await controller.wait_ready(5)
    await controller.stop()
    await late_janus.stop()

    assert ready


async def test_failures_of_one_kind_log_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    controller = JanusController(url, None, retry_delay=0.01, max_retry_delay=0.01)

    await controller.start()
    await asyncio.sleep(0.2)
    await controller.stop()

    warnings = [r for r in caplog.records if "connection refused" in r.getMessage()]
    assert len(warnings) == 1


async def test_missing_janus_shows_in_status(
    janus_settings: JanusProcessSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    controller = JanusController(janus_settings.ws_url, JanusSupervisor(janus_settings))

    await controller.start()
    status = controller.status()
    await controller.stop()

    assert status["janus"] == "unavailable"
    assert status["state"] == "missing"
    assert status["detail"].startswith("Janus is not installed: no 'janus' executable")
