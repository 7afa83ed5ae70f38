"""Run Janus as a child process: configure it, start it, restart it when it exits.

States of the supervised process:

    stopped -> starting -> running -> restarting -> starting -> ...
    starting -> failed -> starting      (Janus exited or stayed silent at start)
    any -> stopped                      (stop())
    stopped -> missing                  (no Janus executable)
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, Literal

from parley.errors import JanusError, JanusUnavailable
from parley.janus.gateway import JanusGateway
from parley.janus.jcfg import JanusProcessSettings, write_janus_config

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
IFF_LOOPBACK = 0x8  # from <linux/if.h>
SIOCGIFFLAGS = 0x8913  # from <linux/sockios.h>

logger = logging.getLogger(__name__)
janus_output = logging.getLogger("parley.janus.output")

State = Literal["starting", "running", "restarting", "failed", "missing", "stopped"]
StatusListener = Callable[["JanusStatus"], None]

OUTPUT_LINES_KEPT = 20


@dataclass(frozen=True)
class JanusStatus:
    """The state of the supervised Janus process.

    `restarts` counts the processes started after the first one.
    """

    state: State
    message: str
    pid: int | None
    restarts: int
    ws_url: str


class JanusSupervisor:
    """Start Janus with Parley's configuration and restart it when it exits.

    Restarts wait `restart_delay` seconds, doubling after each exit up to
    `max_restart_delay`; a process that stayed up for `max_restart_delay` resets
    the delay.
    """

    def __init__(
        self,
        settings: JanusProcessSettings,
        *,
        binary: str = "janus",
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        restart_delay: float = 1.0,
        max_restart_delay: float = 30.0,
    ) -> None:
        self.settings = settings
        self.binary = binary
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay

        self._status = JanusStatus(
            "stopped", "Janus is not started.", None, 0, settings.ws_url
        )
        self._listeners: list[StatusListener] = []
        self._process: asyncio.subprocess.Process | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._output_reader: asyncio.Task[None] | None = None
        self._output: deque[str] = deque(maxlen=OUTPUT_LINES_KEPT)
        self._log_file: IO[str] | None = None
        self._consecutive_exits = 0

    @property
    def status(self) -> JanusStatus:
        """The current state, with a sentence for people and the process id."""
        return self._status

    @property
    def last_output(self) -> list[str]:
        """The last lines Janus printed, oldest first."""
        return list(self._output)

    def add_listener(self, callback: StatusListener) -> None:
        """Call `callback` with the new status on every change of state."""
        self._listeners.append(callback)

    async def start(self) -> None:
        """Start Janus and return once its WebSocket API responds to `info`.

        Raises JanusUnavailable when Janus is not installed, or when it exits or
        stays silent for `start_timeout` seconds. In the second case the supervisor
        keeps restarting it in the background until stop().
        """
        if self._monitor is not None:
            raise RuntimeError("Janus is already supervised; call stop() first.")

        executable = shutil.which(self.binary)
        if executable is None:
            message = _missing_message(self.binary)
            self._set_status("missing", message, pid=None)
            logger.error("%s", message)
            raise JanusUnavailable(message, url=self.settings.ws_url)

        for warning in ice_interface_warnings(self.settings.ice_interfaces):
            logger.warning("%s", warning)
        write_janus_config(self.settings)
        self._open_log_file()
        self._consecutive_exits = 0
        self._status = replace(self._status, restarts=0)
        ready = asyncio.get_running_loop().create_future()
        monitor = asyncio.create_task(self._supervise(executable, ready))
        self._monitor = monitor

        # The monitor settles `ready`; it ends first only when it fails itself.
        await asyncio.wait({ready, monitor}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            monitor.result()
        ready.result()

    async def stop(self) -> None:
        """Stop supervising and terminate Janus: SIGTERM, then SIGKILL on timeout."""
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor

        await self._terminate()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._status.state != "missing":
            self._set_status("stopped", "Janus was stopped.", pid=None)

    async def _supervise(self, executable: str, ready: asyncio.Future[None]) -> None:
        # runs until stop() cancels it
        while True:
            started_at = time.monotonic()
            error = await self._spawn(executable)
            if error is None:
                error = await self._wait_until_ready()
            if not ready.done():
                _settle(ready, error, self.settings.ws_url)

            if error is None:
                await self._watch_process()
            else:
                await self._fail_start(error)

            delay = self._next_delay(time.monotonic() - started_at)
            self._report_exit(delay)
            await asyncio.sleep(delay)
            self._status = replace(self._status, restarts=self._status.restarts + 1)

    async def _spawn(self, executable: str) -> str | None:
        """Start a Janus process; return why it could not start, or None."""
        self._output.clear()
        if _port_in_use(self.settings.ws_host, self.settings.ws_port):
            return (
                f"Janus's WebSocket port {self.settings.ws_port} on "
                f"{self.settings.ws_host} is already in use by another process; stop "
                "it, or set janus.ws_port (PARLEY_JANUS_WS_PORT) to a free port"
            )
        try:
            self._process = await asyncio.create_subprocess_exec(
                executable,
                f"--configs-folder={self.settings.config_dir}",
                "--disable-colors",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                # Its own session, so a Ctrl-C meant for Parley does not reach
                # Janus, and Janus stops only through stop().
                start_new_session=True,
                preexec_fn=_terminate_with_parent,
            )
        except OSError as exc:
            return f"Cannot run {executable!r}: {exc.strerror or exc}"

        self._output_reader = asyncio.create_task(self._read_output(self._process))
        self._set_status("starting", "Janus is starting.", pid=self._process.pid)
        return None

    async def _wait_until_ready(self) -> str | None:
        """Poll Janus with `info` until it responds; return why it did not, or None."""
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.start_timeout

        while time.monotonic() < deadline:
            if process.returncode is not None:
                return f"Janus exited at start with {_describe_exit(process)}"
            version = await self._request_version()
            if version is not None:
                self._set_status(
                    "running",
                    f"Janus {version} is running at {self.settings.ws_url}.",
                    pid=process.pid,
                )
                logger.info(
                    "Janus started on %s (pid %s)", self.settings.ws_url, process.pid
                )
                return None
            await asyncio.sleep(0.1)

        return (
            f"Janus did not answer at {self.settings.ws_url} "
            f"within {self.start_timeout:g} s of starting"
        )

    async def _request_version(self) -> str | None:
        gateway = JanusGateway(self.settings.ws_url, request_timeout=1.0)
        try:
            await gateway.connect()
            info = await gateway.info()
        except JanusError:
            return None
        finally:
            await gateway.close()
        return str(info.get("version_string", "(unknown version)"))

    async def _watch_process(self) -> None:
        process = self._process
        assert process is not None
        await process.wait()
        await self._finish_output()

    async def _fail_start(self, reason: str) -> None:
        await self._terminate()
        self._set_status("failed", f"{reason}.", pid=None)

    def _next_delay(self, uptime: float) -> float:
        if uptime >= self.max_restart_delay:
            self._consecutive_exits = 0
        delay: float = self.restart_delay * 2.0**self._consecutive_exits
        self._consecutive_exits += 1
        return min(delay, self.max_restart_delay)

    def _report_exit(self, delay: float) -> None:
        restart = self._status.restarts + 1
        if self._status.state == "failed":
            summary = self._status.message.rstrip(".")
        else:
            summary = f"Janus exited with {_describe_exit(self._process)}"
        message = (
            f"{summary}; restarting in {delay:g} s (restart {restart}). "
            f"Last output: {self._output_summary()}"
        )
        logger.error("%s", message)

        state: State = "failed" if self._status.state == "failed" else "restarting"
        self._set_status(state, message, pid=None)

    def _output_summary(self) -> str:
        lines = [line for line in self._output if line.strip()]
        if not lines:
            return "(none)"
        return " | ".join(lines[-3:])[-500:]

    async def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            await self._finish_output()
            return

        # signal the process we spawned, by its pid, never by name
        logger.info("Stopping Janus (pid %s)", process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.stop_timeout)
        except TimeoutError:
            logger.warning(
                "Janus (pid %s) ignored SIGTERM for %g s; sending SIGKILL",
                process.pid,
                self.stop_timeout,
            )
            process.kill()
            await process.wait()
        await self._finish_output()

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self._output.append(line)
            self._write_output(line)

    def _write_output(self, line: str) -> None:
        if self._log_file is not None:
            self._log_file.write(line + "\n")
            self._log_file.flush()
        elif line.startswith(("[ERR]", "[FATAL]")):
            janus_output.warning("%s", line)
        else:
            janus_output.debug("%s", line)

    async def _finish_output(self) -> None:
        reader, self._output_reader = self._output_reader, None
        if reader is not None:
            await reader

    def _open_log_file(self) -> None:
        path = self.settings.log_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = path.open("a", encoding="utf-8")

    def _set_status(self, state: State, message: str, *, pid: int | None) -> None:
        old = self._status.state
        self._status = replace(self._status, state=state, message=message, pid=pid)
        if old == state:
            return

        logger.debug("Janus supervisor %s -> %s", old, state)
        for callback in self._listeners:
            try:
                callback(self._status)
            except Exception:
                logger.exception("A Janus status listener failed")


def _missing_message(binary: str) -> str:
    if os.sep in binary:
        where = f"no executable at {binary!r}"
    else:
        where = f"no {binary!r} executable on PATH"
    return (
        f"Janus is not installed: {where}. Install the Debian package janus, "
        "or set janus.url to use an external Janus."
    )


def _describe_exit(process: asyncio.subprocess.Process | None) -> str:
    code = None if process is None else process.returncode
    if code is None:
        return "an unknown status"
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


def _settle(ready: asyncio.Future[None], error: str | None, url: str) -> None:
    if error is None:
        ready.set_result(None)
    else:
        ready.set_exception(JanusUnavailable(f"{error}.", url=url))


def ice_interface_warnings(
    interfaces: list[str],
    flags_of: Callable[[str], int | None] | None = None,
) -> list[str]:
    """Return a warning for each ICE interface Janus will silently ignore.

    libnice skips interfaces flagged LOOPBACK and, when no listed interface matches,
    gathers on every other interface instead, so a typo exposes the wrong address.
    Entries with a dot or colon are address prefixes and are not checked.
    """
    flags_of = flags_of or interface_flags
    warnings = []
    for name in interfaces:
        if "." in name or ":" in name:
            continue
        flags = flags_of(name)
        if flags is None:
            warnings.append(
                f"ICE interface {name!r} does not exist here; Janus will gather "
                "candidates on every other interface. Check janus.interfaces."
            )
        elif flags & IFF_LOOPBACK:
            warnings.append(
                f"ICE interface {name!r} is a loopback interface, which Janus "
                "skips; see the README on keeping media on one machine."
            )
    return warnings


def interface_flags(name: str) -> int | None:
    """Return the kernel's flags of a network interface, or None if there is none.

    Asked through a socket rather than /sys/class/net, because /sys shows the network
    namespace that mounted it, not necessarily the one this process is in.
    """
    request = struct.pack("16sH", name.encode()[:15], 0)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            reply = fcntl.ioctl(probe.fileno(), SIOCGIFFLAGS, request)
    except OSError:
        return None
    flags: int = struct.unpack("16sH", reply[:18])[1]
    return flags


def _port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR as Janus sets it, so a port left in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _terminate_with_parent() -> None:
    """Ask Linux to send Janus SIGTERM when Parley dies, even by SIGKILL.

    Without it, a Janus orphaned by a crashed Parley keeps its ports, and the next
    Parley's Janus fails to start.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
