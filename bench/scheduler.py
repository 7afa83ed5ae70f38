"""Measure what the scheduler costs with 10,000 scheduled meetings, against 100.

Each size runs in a child process of its own, on a fresh SQLite file in a temporary
directory, with the real clock. The child:

1. loads the meetings through ScheduleService, one transaction each, as the slash
   command does. One in three repeats on some weekdays, the others are one-off. The
   starts are spread over the next six weeks, at least an hour ahead, in five zones.
   Resident memory (VmRSS) is read before and after.
2. times `Scheduler.run_due` with nothing due, and the `next_due_at` query that the
   scheduler's task runs between passes (`--passes` of each).
3. runs the scheduler's task for `--idle-seconds` with nothing due and measures the
   process's CPU time over that window. The task's poll interval is `--poll-interval`
   (5 s by default, against 30 s in production), so the window contains a few passes.
4. adds `--due` meetings whose reminder or start falls within the next
   `--due-seconds`, half of each, wakes the scheduler as the API does, and measures
   the delay from each due time to the poster call (a recording poster stamps
   `time.monotonic()`). Rooms are opened by a stand-in that returns at once.

The parent prints one JSON object: each size's figures and the ratio of the large
size's figures to the small one's. With `--rounds` above 1 the sizes alternate and
each figure is the median over the rounds.

    .venv/bin/python bench/scheduler.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from parley.clock import SystemClock  # noqa: E402
from parley.meetings.model import Meeting, MeetingState, Origin  # noqa: E402
from parley.scheduling.model import Schedule  # noqa: E402
from parley.scheduling.recurrence import Recurrence  # noqa: E402
from parley.scheduling.scheduler import Scheduler  # noqa: E402
from parley.scheduling.service import Organiser, ScheduleService  # noqa: E402
from parley.scheduling.when import ScheduleRequest  # noqa: E402
from parley.storage import Database, create_engine, migrate  # noqa: E402
from parley.storage.schedules import SqlScheduleStore  # noqa: E402

ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Shanghai",
        "Australia/Sydney",
    )
]
UTC_ZONE = ZONES[0]
SPREAD = timedelta(weeks=6)
EARLIEST = timedelta(hours=1)
DUE_START_DELAY = 3.0  # seconds between adding the due meetings and the first due
DUE_TIMEOUT_EXTRA = 30.0  # seconds to wait past the last due time before giving up
CHANNELS = 50


@dataclass
class RecordingPoster:
    """Stamps when the scheduler hands each reminder and room to the channel."""

    stamps: dict[str, float] = field(default_factory=dict)
    expected: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def reminder(self, schedule: Schedule, *, late: bool) -> None:
        self._stamp(schedule)

    async def room_opened(self, schedule: Schedule, meeting: Meeting) -> None:
        self._stamp(schedule)

    def _stamp(self, schedule: Schedule) -> None:
        self.stamps.setdefault(schedule.id, time.monotonic())
        if self.expected and len(self.stamps) >= self.expected:
            self.done.set()


async def open_room(schedule: Schedule) -> Meeting:
    return Meeting(
        id=schedule.id,
        slug=f"room-{schedule.short_id}",
        title=schedule.title,
        janus_room_id=1,
        state=MeetingState.OPEN,
        created_at=schedule.next_start,
        origin=Origin(channel_id=schedule.channel_id),
    )


def rss_mib() -> float:
    """Return this process's resident memory (Linux: VmRSS in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS is missing from /proc/self/status; run this on Linux.")


def background_request(rng: random.Random, now: datetime) -> ScheduleRequest:
    """Draw a meeting that is not due during the run."""
    zone = rng.choice(ZONES)
    start = now + EARLIEST + (SPREAD - EARLIEST) * rng.random()
    start = start.replace(second=0, microsecond=0)
    recurrence = None
    if rng.random() < 1 / 3:
        days = frozenset(rng.sample(range(7), rng.randint(1, 5)))
        wall = start.astimezone(zone).time().replace(tzinfo=None)
        recurrence = Recurrence(days, wall, zone)
        start = recurrence.next_after(start)
    return ScheduleRequest(
        title="Background meeting",
        start=start,
        zone=zone,
        local_start=start.astimezone(zone).replace(tzinfo=None),
        recurrence=recurrence,
    )


def due_request(index: int, due: datetime) -> ScheduleRequest:
    """Return a meeting whose reminder (even index) or room (odd) is due at `due`."""
    reminder = index % 2 == 0
    start = due + timedelta(minutes=10) if reminder else due
    return ScheduleRequest(
        title="Due meeting",
        start=start,
        zone=UTC_ZONE,
        local_start=start.replace(tzinfo=None),
        remind_before=timedelta(minutes=10) if reminder else timedelta(0),
    )


def organiser(index: int) -> Organiser:
    return Organiser(
        user_id=f"user{index % 200}",
        user_name=f"user{index % 200}",
        channel_id=f"channel{index % CHANNELS:02d}",
    )


async def timed_calls(call: Any, count: int) -> dict[str, float]:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        durations.append((time.perf_counter() - started) * 1000)
    return summary_ms(durations)


def summary_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
        "count": len(ordered),
    }


async def run_child(arguments: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parley-bench-scheduler-") as workdir:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(workdir) / 'parley.db'}")
        try:
            return await measure(engine, arguments)
        finally:
            await engine.dispose()


async def measure(engine: Any, arguments: argparse.Namespace) -> dict[str, Any]:
    await migrate(engine)
    clock = SystemClock()
    store = SqlScheduleStore(Database(engine))
    service = ScheduleService(store, clock)
    poster = RecordingPoster()
    scheduler = Scheduler(
        store, clock, open_room, poster, poll_interval=arguments.poll_interval
    )
    rng = random.Random(arguments.seed)
    figures: dict[str, Any] = {"meetings": arguments.meetings}

    rss_before = rss_mib()
    started = time.perf_counter()
    for index in range(arguments.meetings):
        request = background_request(rng, clock.now())
        await service.schedule(request, organiser(index))
    figures["load_seconds"] = round(time.perf_counter() - started, 2)
    figures["rss_mib_before_load"] = round(rss_before, 1)
    figures["rss_mib_after_load"] = round(rss_mib(), 1)

    assert await scheduler.run_due() == 0, "a background meeting is due already"
    figures["run_due_idle_ms"] = await timed_calls(scheduler.run_due, arguments.passes)
    figures["next_due_at_ms"] = await timed_calls(store.next_due_at, arguments.passes)

    figures["idle"] = await measure_idle(scheduler, arguments.idle_seconds)
    figures["due_delay_ms"] = await measure_due(
        service, scheduler, poster, arguments.due, arguments.due_seconds
    )
    figures["rss_mib_after_run"] = round(rss_mib(), 1)
    return figures


async def measure_idle(scheduler: Scheduler, seconds: float) -> dict[str, Any]:
    """Run the scheduler's task with nothing due; return its CPU time and passes."""
    store = scheduler.store
    due = store.due
    passes = 0

    # Each pass queries the due meetings once, so counting the queries counts the
    # passes, whatever runs them.
    async def counted_due(now: datetime, *, limit: int = 100) -> list[Schedule]:
        nonlocal passes
        passes += 1
        return await due(now, limit=limit)

    store.due = counted_due  # type: ignore[method-assign]
    scheduler.start()
    await asyncio.sleep(0.5)  # let the first pass, which follows start, settle

    passes = 0
    cpu_started = time.process_time()
    wall_started = time.monotonic()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu_started
    wall = time.monotonic() - wall_started
    store.due = due  # type: ignore[method-assign]

    return {
        "window_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 4),
        "cpu_seconds_per_minute": round(cpu / wall * 60, 4),
        "passes": passes,
    }


async def measure_due(
    service: ScheduleService,
    scheduler: Scheduler,
    poster: RecordingPoster,
    count: int,
    seconds: float,
) -> dict[str, Any]:
    """Add `count` meetings due within `seconds`; return their due-to-post delays."""
    clock = service.clock
    first_due = clock.now() + timedelta(seconds=DUE_START_DELAY)
    step = timedelta(seconds=seconds / max(count - 1, 1))

    due_at: dict[str, datetime] = {}
    for index in range(count):
        due = first_due + step * index
        schedule = await service.schedule(due_request(index, due), organiser(index))
        due_at[schedule.id] = schedule.next_due_at
    added = clock.now()

    poster.expected = count
    scheduler.wake()
    deadline = (first_due - clock.now()).total_seconds() + seconds + DUE_TIMEOUT_EXTRA
    # A meeting never posted shows as `missing` below.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poster.done.wait(), deadline)
    await scheduler.stop()

    # The due times are wall-clock instants; the stamps are monotonic. One pair of
    # readings taken together converts between them.
    wall_now, monotonic_now = clock.now(), time.monotonic()
    delays = []
    for schedule_id, due in due_at.items():
        stamp = poster.stamps.get(schedule_id)
        if stamp is not None:
            due_monotonic = monotonic_now - (wall_now - due).total_seconds()
            delays.append((stamp - due_monotonic) * 1000)

    result: dict[str, Any] = summary_ms(delays) if delays else {"count": 0}
    result["missing"] = count - len(delays)
    result["seconds_to_add_before_first_due"] = round(
        (first_due - added).total_seconds(), 2
    )
    return result


def run_size(meetings: int, arguments: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--meetings",
        str(meetings),
        "--idle-seconds",
        str(arguments.idle_seconds),
        "--poll-interval",
        str(arguments.poll_interval),
        "--due",
        str(arguments.due),
        "--due-seconds",
        str(arguments.due_seconds),
        "--passes",
        str(arguments.passes),
        "--seed",
        str(arguments.seed),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(output.stdout)


FIGURES = {
    "run_due_idle_median_ms": ("run_due_idle_ms", "median"),
    "next_due_at_median_ms": ("next_due_at_ms", "median"),
    "idle_cpu_seconds_per_minute": ("idle", "cpu_seconds_per_minute"),
    "due_delay_median_ms": ("due_delay_ms", "median"),
    "due_delay_p95_ms": ("due_delay_ms", "p95"),
    "due_delay_max_ms": ("due_delay_ms", "max"),
    "rss_mib_after_load": ("rss_mib_after_load", None),
    "load_seconds": ("load_seconds", None),
}


def pick(run: dict[str, Any], path: tuple[str, str | None]) -> float:
    value = run[path[0]]
    return float(value if path[1] is None else value[path[1]])


def compare(runs: dict[int, list[dict[str, Any]]], small: int, large: int) -> dict:
    """Return each figure's median over the rounds for both sizes, and their ratio."""
    table = {}
    for name, path in FIGURES.items():
        small_value = statistics.median(pick(run, path) for run in runs[small])
        large_value = statistics.median(pick(run, path) for run in runs[large])
        ratio = large_value / small_value if small_value else None
        table[name] = {
            str(small): round(small_value, 4),
            str(large): round(large_value, 4),
            "ratio": None if ratio is None else round(ratio, 2),
        }
    return table


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--large", type=int, default=10_000, help="number of meetings in the large run"
    )
    parser.add_argument(
        "--small", type=int, default=100, help="number of meetings in the small run"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs of each size, alternating"
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=20.0,
        help="length of the idle window, seconds",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        help="scheduler poll interval, seconds",
    )
    parser.add_argument(
        "--due", type=int, default=200, help="number of meetings due during the run"
    )
    parser.add_argument(
        "--due-seconds",
        type=float,
        default=10.0,
        help="seconds over which their due times spread",
    )
    parser.add_argument(
        "--passes", type=int, default=50, help="number of timed passes with nothing due"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--meetings", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    counts = (arguments.large, arguments.small, arguments.rounds, arguments.due)
    if min(counts) < 1 or arguments.passes < 1:
        raise SystemExit("--large, --small, --rounds, --due and --passes must be >= 1.")
    if min(arguments.idle_seconds, arguments.poll_interval, arguments.due_seconds) <= 0:
        raise SystemExit("--idle-seconds, --poll-interval, --due-seconds must be > 0.")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    if arguments.child:
        print(json.dumps(asyncio.run(run_child(arguments))))
        return

    runs: dict[int, list[dict[str, Any]]] = {arguments.small: [], arguments.large: []}
    for round_index in range(arguments.rounds):
        order = [arguments.small, arguments.large]
        if round_index % 2:
            order.reverse()
        for meetings in order:
            runs[meetings].append(run_size(meetings, arguments))

    report = {
        "benchmark": "scheduler with many scheduled meetings, SQLite, real clock",
        "settings": {
            "idle_seconds": arguments.idle_seconds,
            "poll_interval_seconds": arguments.poll_interval,
            "due_meetings": arguments.due,
            "due_spread_seconds": arguments.due_seconds,
            "rounds": arguments.rounds,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "compare": compare(runs, arguments.small, arguments.large),
        "runs": {str(size): size_runs for size, size_runs in runs.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
