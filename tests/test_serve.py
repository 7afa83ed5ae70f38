"""`parley serve` as a self-hoster runs it: a real process with its own Janus."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.janus.conftest import free_port, requires_janus

TOKEN = "serve-test-token"
COMMAND = {"token": TOKEN, "command": "/sfu", "text": "standup", "user_name": "bob"}


class Serve:
    def __init__(self, workdir: Path, **environment: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "parley.log"
        self.environment = {
            **os.environ,
            "PARLEY_DATA_DIR": str(workdir / "data"),
            "PARLEY_PORT": str(self.port),
            "PARLEY_PUBLIC_URL": "https://meet.example.org",
            "PARLEY_MATTERMOST_TOKENS": TOKEN,
            "PARLEY_JANUS_WS_PORT": str(free_port()),
            "PARLEY_JANUS_RTP_PORT_RANGE": "41000-41999",
            "PARLEY_LOCALE": "en",
            **environment,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "parley", "serve"],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_for(self, predicate, within: float = 20.0) -> dict:
        """Poll /healthz until `predicate(status, body)` holds; return the body."""
        deadline = time.monotonic() + within
        last: object = "no answer"
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                response = httpx.get(f"{self.base_url}/healthz", timeout=2)
            except httpx.TransportError as error:
                last = error
            else:
                last = (response.status_code, response.json())
                if predicate(response.status_code, response.json()):
                    return response.json()
            time.sleep(0.1)
        raise AssertionError(f"/healthz never matched; last: {last}\n{self.log()}")

    def slash(self) -> httpx.Response:
        return httpx.post(f"{self.base_url}/mattermost", data=COMMAND, timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)
        return self.process.returncode


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    started: list[Serve] = []

    def start(**environment: str) -> Serve:
        server = Serve(tmp_path, **environment)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_missing_janus_is_reported_not_linked(serve):
    server = serve(PARLEY_JANUS_BINARY="/nonexistent/janus")

    health = server.wait_for(
        lambda status, body: body["janus"].get("state") == "missing"
    )
    reply = server.slash()

    assert health["status"] == "unavailable"
    assert health["janus"]["detail"] == (
        "Janus is not installed: no executable at '/nonexistent/janus'. "
        "Install the Debian package janus, or set janus.url to use an external Janus."
    )
    assert httpx.get(f"{server.base_url}/healthz").status_code == 503
    assert reply.status_code == 200
    assert reply.json()["response_type"] == "ephemeral"
    assert "Video meetings are unavailable right now" in reply.json()["text"]
    assert "/join/" not in reply.text
    assert server.log().count("Janus is not installed") >= 1


@requires_janus
def test_killed_janus_is_restarted_and_rooms_work_again(serve):
    server = serve()
    first = server.wait_for(lambda status, body: status == 200)

    os.kill(first["janus"]["pid"], signal.SIGKILL)
    after = server.wait_for(
        lambda status, body: status == 200 and body["janus"]["restarts"] == 1
    )
    reply = server.slash().json()

    assert after["janus"]["pid"] != first["janus"]["pid"]
    assert reply["response_type"] == "in_channel"
    link = reply["attachments"][0]["title_link"]
    assert link.startswith("https://meet.example.org/join/standup-")
    page = httpx.get(server.base_url + "/join/" + link.rsplit("/", 1)[1])
    assert page.status_code == 200
    assert "Janus exited with signal SIGKILL" in server.log()


@requires_janus
def test_serve_stops_its_janus_on_sigterm(serve):
    server = serve()
    janus_pid = server.wait_for(lambda status, body: status == 200)["janus"]["pid"]

    code = server.stop()

    # Uvicorn shuts down cleanly, then re-raises the signal it caught.
    assert code in (0, -signal.SIGTERM)
    assert "Parley stopped" in server.log()
    with pytest.raises(ProcessLookupError):
        os.kill(janus_pid, 0)


def test_tokens_never_reach_the_log(serve):
    server = serve(PARLEY_JANUS_BINARY="/nonexistent/janus")
    server.wait_for(lambda status, body: True)

    httpx.post(
        f"{server.base_url}/mattermost", data={**COMMAND, "token": "wrong-guess"}
    )
    httpx.get(f"{server.base_url}/mattermost", params=COMMAND)
    server.slash()
    server.stop()

    assert TOKEN not in server.log()
    assert "wrong-guess" not in server.log()


def test_invalid_setting_stops_the_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve"],
        env={**os.environ, "PARLEY_PUBLIC_URL": "meet.example.org"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert (
        "Invalid setting 'server.public_url' (from PARLEY_PUBLIC_URL)" in result.stderr
    )


@requires_janus
def test_janus_does_not_outlive_a_killed_parley(serve):
    server = serve()
    janus_pid = server.wait_for(lambda status, body: status == 200)["janus"]["pid"]

    server.process.kill()
    server.process.wait(timeout=10)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(janus_pid):
        time.sleep(0.1)
    assert not _alive(janus_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # kill(0) succeeds on a zombie too, so read the process state from /proc.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


@requires_janus
def test_taken_janus_port_is_reported_not_used(serve):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = serve(PARLEY_JANUS_WS_PORT=str(port))

        health = server.wait_for(
            lambda status, body: "already in use" in body["janus"]["detail"]
        )
        reply = server.slash().json()

    assert health["status"] == "unavailable"
    assert health["janus"]["detail"].startswith(
        f"Janus's WebSocket port {port} on 127.0.0.1 is already in use by another "
        "process; stop it, or set janus.ws_port (PARLEY_JANUS_WS_PORT) to a free port"
    )
    assert reply["response_type"] == "ephemeral"
    assert "/join/" not in reply["text"]


def test_taken_port_stops_start_naming_setting(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "parley", "serve"],
            env={
                **os.environ,
                "PARLEY_PORT": str(port),
                "PARLEY_DATA_DIR": str(tmp_path),
            },
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert result.returncode == 2
    assert (
        f"Cannot listen on 127.0.0.1:{port}: Address already in use." in result.stderr
    )
    assert "Set PARLEY_PORT (server.port) to a free port" in result.stderr


def test_unknown_host_stops_start_naming_setting(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve"],
        env={**os.environ, "PARLEY_HOST": "no-such-host.invalid"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "Cannot listen on host 'no-such-host.invalid'" in result.stderr
    assert "Set PARLEY_HOST (server.host)" in result.stderr
