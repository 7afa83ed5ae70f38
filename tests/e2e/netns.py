"""A private network namespace in which Janus, Parley and Chromium exchange media.

Janus (through libnice) and Chromium both skip interfaces flagged LOOPBACK when they
gather ICE candidates, and fall back to the machine's external interface. A
namespace of our own has no external interface. In it `lo` carries the packets, and
an empty bridge with the address 127.0.0.1/32 gives both programs a non-loopback
interface to gather on. Creating a namespace needs root (CAP_SYS_ADMIN).

The test process enters the namespace with setns(2) on its main thread. Every process
it starts afterwards (Parley, Parley's Janus, Playwright's driver and Chromium) and
every socket it opens is then inside the namespace, so no command needs an
`ip netns exec` prefix.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
"""The setns(2) flag for a network namespace, from <sched.h>."""

BRIDGE = "pbr0"
"""The non-loopback interface holding 127.0.0.1/32; Janus's ICE interface."""

NETNS_DIR = Path("/run/netns")


class NamespaceError(RuntimeError):
    """The namespace could not be created, configured or entered."""


def _run_ip(*args: str) -> None:
    try:
        subprocess.run(
            ["ip", *args], check=True, capture_output=True, text=True, timeout=10
        )
    except FileNotFoundError as exc:
        raise NamespaceError("the `ip` command (iproute2) is not installed") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.strip() or f"exit status {exc.returncode}"
        raise NamespaceError(f"`ip {' '.join(args)}` failed: {detail}") from exc


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NamespaceError(f"setns failed: {os.strerror(errno)}")


@dataclass(frozen=True)
class NetworkNamespace:
    """A named network namespace holding `lo` and the bridge `BRIDGE`."""

    name: str

    @property
    def path(self) -> Path:
        return NETNS_DIR / self.name

    @classmethod
    def create(cls, name: str) -> NetworkNamespace:
        """Create and configure the namespace `name`; delete it again on failure."""
        if os.geteuid() != 0:
            raise NamespaceError("creating a network namespace needs root")
        _run_ip("netns", "add", name)
        namespace = cls(name)
        try:
            namespace._configure()
        except NamespaceError:
            namespace.delete()
            raise
        return namespace

    def _configure(self) -> None:
        ns = ("-n", self.name)
        _run_ip(*ns, "link", "set", "lo", "up")
        _run_ip(*ns, "link", "add", BRIDGE, "type", "bridge")
        # IPv6 off before the link goes up, so it never gets a link-local address
        # that Janus or Chromium could offer as a candidate.
        _run_ip(
            "netns", "exec", self.name,
            "sysctl", "-qw", f"net.ipv6.conf.{BRIDGE}.disable_ipv6=1",
        )  # fmt: skip
        _run_ip(*ns, "link", "set", BRIDGE, "multicast", "off")
        _run_ip(*ns, "addr", "add", "127.0.0.1/32", "dev", BRIDGE)
        _run_ip(*ns, "link", "set", BRIDGE, "up")

    def delete(self) -> None:
        """Delete the namespace. Processes still inside keep it alive until they end."""
        with contextlib.suppress(NamespaceError):
            _run_ip("netns", "delete", self.name)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Move the calling thread into the namespace, and back out on exit.

        Only the calling thread moves, so call this from the thread that starts the
        subprocesses and opens the sockets: pytest's main thread.
        """
        if threading.current_thread() is not threading.main_thread():
            raise NamespaceError("enter the namespace from the main thread")
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(self.path, os.O_RDONLY)
            try:
                _setns(target)
            finally:
                os.close(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free in the current namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def interface_addresses() -> list[str]:
    """List the IPv4 and IPv6 addresses of every interface in the current namespace."""
    output = subprocess.run(
        ["ip", "-o", "addr", "show"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    return [line.split()[3] for line in output.splitlines()]
