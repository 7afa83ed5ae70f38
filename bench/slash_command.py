"""Measure slash command throughput and latency on loopback, against the framework's
ceiling.

Two servers run as separate processes, each uvicorn with one worker on 127.0.0.1:

- `parley`: Parley's real app serving `POST /mattermost`. By default its media
  gateway is the in-memory FakeMediaGateway, so room creation returns at once and
  Janus's time is excluded; `--real-janus` lets Parley start and drive its own Janus.
- `ceiling`: a bare FastAPI endpoint `POST /mattermost` that returns a fixed JSON reply
  of the same shape without reading the request. It is the most any handler on this
  framework and server can do here.

This process generates the load: at each concurrency level (1, 16 and 64 by default)
that many keep-alive connections each send, one after another, the form Mattermost
sends (built by the Mattermost stand-in). The client is a few lines of asyncio rather
than httpx, whose connection pool used more CPU than the ceiling server on a 2-CPU
machine and so capped both figures. Each level's requests are split
into rounds that alternate between the two servers, so a slow moment of the machine
hits both. Prints one JSON object with requests per second, p50 and p99 latency per
server and level, and Parley's share of the ceiling's throughput.

    .venv/bin/python bench/slash_command.py --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.support.mattermost import MattermostStandIn  # noqa: E402

TOKEN = "b3nchm4rkt0k3nf0rsl4shcmds"
PUBLIC_URL = "https://meet.example.org"
STARTUP_SECONDS = 30
REQUEST_TIMEOUT_SECONDS = 30
WARMUP_REQUESTS = 100

# A reply of the size and shape Parley sends for `/sfu standup`.
CEILING_REPLY = {
    "response_type": "in_channel",
    "text": f"Here is your meeting room: {PUBLIC_URL}/join/standup-abcdefghijklmnop",
    "skip_slack_parsing": True,
    "attachments": [
        {
            "fallback": f"standup: {PUBLIC_URL}/join/standup-abcdefghijklmnop",
            "color": "#1f7a3a",
            "title": "standup",
            "title_link": f"{PUBLIC_URL}/join/standup-abcdefghijklmnop",
            "text": f"{PUBLIC_URL}/join/standup-abcdefghijklmnop",
            "fields": [{"title": "Started by", "value": "@bob", "short": True}],
        }
    ],
}


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------


def ceiling_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/mattermost")
    async def mattermost() -> JSONResponse:
        # Serialised per request, as Parley's reply is.
        return JSONResponse(CEILING_REPLY)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def parley_app(data_dir: str, log_level: str, real_janus: bool) -> Any:
    from parley.app import create_app
    from parley.config import load_settings
    from parley.logs import configure_logging

    environ = {
        "PARLEY_MATTERMOST_TOKENS": TOKEN,
        "PARLEY_DATA_DIR": data_dir,
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "PARLEY_LOCALE": "en",
        "PARLEY_LOG_LEVEL": log_level,
    }
    if real_janus:
        environ["PARLEY_JANUS_WS_PORT"] = str(free_port())
        environ["PARLEY_JANUS_INTERFACES"] = "lo"
    settings = load_settings(environ=environ)
    configure_logging(log_level, secrets=[TOKEN])
    if real_janus:
        return create_app(settings)

    from tests.support.fakes import FakeMediaGateway

    return create_app(settings, gateway=FakeMediaGateway())


def serve(
    kind: str, port: int, data_dir: str, log_level: str, real_janus: bool
) -> None:
    """Run one server in this process until it is terminated."""
    import uvicorn

    if kind == "parley":
        app = parley_app(data_dir, log_level, real_janus)
    else:
        app = ceiling_app()
    uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            workers=1,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    ).run()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    kind: str
    workdir: Path
    log_level: str
    real_janus: bool
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.kind}.log"

    def start(self) -> None:
        data_dir = self.workdir / f"{self.kind}-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, __file__, "--serve", self.kind, "--port", str(self.port),
            "--data-dir", str(data_dir), "--log-level", self.log_level,
        ]  # fmt: skip
        if self.real_janus:
            command.append("--real-janus")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
            )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(
            f"The {self.kind} server did not become healthy on {self.url} within "
            f"{STARTUP_SECONDS} s. End of {self.log_path}:\n{tail}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# --------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------


@dataclass
class Sample:
    """Latencies of one server at one level; `errors` counts replies other
    than 200, `ephemeral_replies` 200 replies without the in-channel link
    (Parley's "creating" reply when a room takes longer than its deadline)."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    ephemeral_replies: int = 0
    seconds: float = 0.0

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.ephemeral_replies += other.ephemeral_replies
        self.seconds += other.seconds

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "errors": self.errors,
            "ephemeral_replies": self.ephemeral_replies,
            "requests_per_second": round(len(ordered) / self.seconds, 1),
            "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
            "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
        }


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends a prepared request.

    It does only what the benchmark needs (Content-Length bodies, no chunking),
    so the client costs far less CPU than a general-purpose one and the figures
    describe the servers.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        """Send the raw request and return the status and body of the reply."""
        self.writer.write(payload)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def send_load(port: int, payload: bytes, concurrency: int, total: int) -> Sample:
    """Send `total` copies of `payload` from `concurrency` connections at once."""
    sample = Sample()
    remaining = total
    connections = [await HttpConnection.open(port) for _ in range(concurrency)]

    async def worker(connection: HttpConnection) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status, body = await asyncio.wait_for(
                connection.send(payload), REQUEST_TIMEOUT_SECONDS
            )
            sample.latencies.append(time.perf_counter() - started)
            if status != 200:
                sample.errors += 1
            elif b'"in_channel"' not in body:
                sample.ephemeral_replies += 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(connection) for connection in connections))
        sample.seconds = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return sample


def command_payload(mattermost: MattermostStandIn, port: int) -> bytes:
    """Return the raw POST Mattermost sends for `/sfu new standup` to that port.

    `new`, because plain `/sfu` in one channel would create a room once and then
    offer that room to every later request.
    """
    url = f"http://127.0.0.1:{port}/mattermost"
    wire = mattermost.build_request(url, "/sfu new standup", token=TOKEN)
    headers = [
        ("Host", f"127.0.0.1:{port}"),
        ("User-Agent", "Mattermost-Bot/1.1"),
        ("Content-Length", str(len(wire.body))),
        *wire.headers,
        ("Accept-Encoding", "gzip"),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"POST /mattermost HTTP/1.1\r\n{head}\r\n".encode() + wire.body


async def measure(
    servers: dict[str, ServerProcess],
    mattermost: MattermostStandIn,
    levels: Sequence[int],
    requests: int,
    rounds: int,
) -> list[dict[str, Any]]:
    """Run every level, alternating the servers round by round."""
    payloads = {
        kind: command_payload(mattermost, server.port)
        for kind, server in servers.items()
    }
    for kind, server in servers.items():
        await send_load(server.port, payloads[kind], 4, WARMUP_REQUESTS)

    results = []
    per_round = max(1, requests // rounds)
    for level in levels:
        samples = {kind: Sample() for kind in servers}
        for round_number in range(rounds):
            order = list(servers) if round_number % 2 == 0 else list(servers)[::-1]
            for kind in order:
                port = servers[kind].port
                round_sample = await send_load(port, payloads[kind], level, per_round)
                samples[kind].add(round_sample)
        results.append(level_result(level, samples))
    return results


def level_result(level: int, samples: dict[str, Sample]) -> dict[str, Any]:
    parley, ceiling = samples["parley"].summary(), samples["ceiling"].summary()
    share = parley["requests_per_second"] / ceiling["requests_per_second"]
    return {
        "concurrency": level,
        "parley": parley,
        "ceiling": ceiling,
        "parley_share_of_ceiling": round(share, 3),
    }


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per server and level"
    )
    parser.add_argument(
        "--levels",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 16, 64],
        help="comma-separated numbers of concurrent clients (default 1,16,64)",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds per level"
    )
    parser.add_argument(
        "--log-level", default="info", help="Parley's log level (default info)"
    )
    parser.add_argument(
        "--real-janus",
        action="store_true",
        help="let Parley start and drive its own Janus instead of the fake gateway",
    )
    parser.add_argument(
        "--serve", choices=["parley", "ceiling"], help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    if arguments.serve:
        serve(
            arguments.serve,
            arguments.port,
            arguments.data_dir,
            arguments.log_level,
            arguments.real_janus,
        )
        return
    if arguments.requests < 1 or arguments.rounds < 1 or min(arguments.levels) < 1:
        raise SystemExit("--requests, --rounds and every level must be at least 1.")

    with tempfile.TemporaryDirectory(prefix="parley-bench-") as workdir:
        servers = {
            kind: ServerProcess(
                kind, Path(workdir), arguments.log_level, arguments.real_janus
            )
            for kind in ("parley", "ceiling")
        }
        try:
            for server in servers.values():
                server.start()
            with MattermostStandIn() as mattermost:
                levels = asyncio.run(
                    measure(
                        servers,
                        mattermost,
                        arguments.levels,
                        arguments.requests,
                        arguments.rounds,
                    )
                )
        finally:
            for server in servers.values():
                server.stop()

    print(json.dumps(report(arguments, levels), indent=2))


def report(arguments: argparse.Namespace, levels: list[dict[str, Any]]) -> dict:
    janus = (
        "Parley drives its own Janus; each request creates a real videoroom"
        if arguments.real_janus
        else "excluded: Parley uses FakeMediaGateway, so room creation returns at once"
    )
    return {
        "benchmark": "slash command POST /mattermost on loopback",
        "janus": janus,
        "servers": "uvicorn, 1 worker each, separate processes, 127.0.0.1",
        "client": (
            "one process; a keep-alive HTTP/1.1 connection per concurrent client"
        ),
        "parley_log_level": arguments.log_level,
        "requests_per_server_and_level": arguments.requests
        // arguments.rounds
        * arguments.rounds,
        "rounds_per_level": arguments.rounds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "levels": levels,
    }


if __name__ == "__main__":
    main()
