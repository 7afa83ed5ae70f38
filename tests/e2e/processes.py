"""Start and stop the servers of an end-to-end run: Parley, and a bare Janus for bench.

Each server is a subprocess of the test process, so it runs in whatever network
namespace the test process has entered. Output goes to a log file, whose tail is
quoted when a server fails to come up. Servers are stopped by their process id.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from parley.janus.jcfg import JanusProcessSettings, write_janus_config
from tests.e2e.netns import BRIDGE, free_port

STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to become ready; Parley's includes starting its Janus."""

STOP_TIMEOUT = 10.0
"""Seconds a server may take to exit after SIGTERM before it is killed."""

MATTERMOST_TOKEN = "e2e-slash-command-token"
API_SECRET = "e2e-rest-api-secret-0123456789"


class ServerError(RuntimeError):
    """A server did not start or did not become ready in time."""


def log_tail(path: Path, lines: int = 30) -> str:
    """Return the last `lines` lines of the log at `path`, or a note if it is empty."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"(log {path} is empty)"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop `process` by its pid: SIGTERM, then SIGKILL after `STOP_TIMEOUT`."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _start(command: list[str], log_path: Path, env: dict[str, str] | None = None):
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _parley_command() -> list[str]:
    script = Path(sys.executable).with_name("parley")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "parley", "serve"]


@dataclass
class ParleyServer:
    """A `parley serve` process with its own data directory and its own Janus.

    It is started through `ip netns exec <namespace>`. The process is already in
    that namespace through its parent, but `ip netns exec` also mounts a /sys of
    the namespace, so /sys/class/net lists the namespace's interfaces (setns alone
    leaves /sys showing the host's).
    """

    workdir: Path
    namespace: str
    port: int = field(default_factory=free_port)
    janus_ws_port: int = field(default_factory=free_port)
    rtp_port_range: str = "30000-30999"
    token: str = MATTERMOST_TOKEN
    # More settings, such as the channel bot's.
    extra_environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "parley.log"

    def environment(self) -> dict[str, str]:
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_PORT": str(self.port),
            "PARLEY_PUBLIC_URL": self.base_url,
            "PARLEY_MATTERMOST_TOKENS": self.token,
            "PARLEY_API_SECRET": API_SECRET,
            "PARLEY_JANUS_WS_PORT": str(self.janus_ws_port),
            "PARLEY_JANUS_RTP_PORT_RANGE": self.rtp_port_range,
            "PARLEY_JANUS_INTERFACES": BRIDGE,
            **self.extra_environment,
        }

    def start(self) -> None:
        """Start Parley and wait until `/healthz` returns 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = ["ip", "netns", "exec", self.namespace, *_parley_command()]
        self.process = _start(command, self.log_path, self.environment())
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"parley serve exited with status {self.process.returncode}; "
                    f"its log ends:\n{log_tail(self.log_path)}"
                )
            last = self._probe_health()
            if last == "ready":
                return
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"Parley at {self.base_url} was not healthy within {STARTUP_TIMEOUT:.0f} s "
            f"(last /healthz: {last}); its log ends:\n{log_tail(self.log_path)}"
        )

    def _probe_health(self) -> str:
        try:
            response = httpx.get(f"{self.base_url}/healthz", timeout=2.0)
        except httpx.TransportError as exc:
            return type(exc).__name__
        if response.status_code == 200:
            return "ready"
        return f"{response.status_code} {response.text[:200]}"

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclass
class JanusServer:
    """A bare Janus with only the videoroom plugin and the WebSocket transport."""

    workdir: Path
    ws_port: int = field(default_factory=free_port)
    rtp_port_range: str = "31000-31999"
    binary: str = "/usr/bin/janus"
    process: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "janus.log"

    def start(self) -> None:
        """Write the configuration, start Janus and wait for its WebSocket port."""
        config_dir = self.workdir / "janus-config"
        settings = JanusProcessSettings(
            config_dir=config_dir,
            ws_port=self.ws_port,
            rtp_port_range=self.rtp_port_range,
            ice_interfaces=[BRIDGE],
        )
        write_janus_config(settings)
        command = [
            self.binary,
            f"--config={config_dir / 'janus.jcfg'}",
            f"--configs-folder={config_dir}",
        ]
        self.process = _start(command, self.log_path)

        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"janus exited with status {self.process.returncode}; "
                    f"its log ends:\n{log_tail(self.log_path)}"
                )
            if _port_open(self.ws_port):
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"Janus did not listen on {self.ws_url} in time")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
