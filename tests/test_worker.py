import asyncio
from datetime import timedelta

from parley import worker as worker_module
from parley.clock import SystemClock
from parley.worker import Worker


async def nothing_due():
    return None


async def test_wake_runs_a_pass():
    passes = []

    async def run_pass():
        passes.append(1)
        return False

    worker = Worker("test worker", run_pass, nothing_due, SystemClock(), lambda: 60.0)
    worker.start()
    await asyncio.sleep(0.05)
    worker.wake()
    await asyncio.sleep(0.05)
    await worker.stop()

    assert len(passes) == 2


async def test_failed_pass_is_logged_and_retried(monkeypatch, caplog):
    monkeypatch.setattr(worker_module, "FAILURE_PAUSE", 0.01)
    calls = []

    async def run_pass():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return False

    worker = Worker("test worker", run_pass, nothing_due, SystemClock(), lambda: 60.0)
    worker.start()
    await asyncio.sleep(0.1)
    await worker.stop()

    assert len(calls) == 2
    assert "The test worker failed; trying again" in caplog.text
    assert "database is locked" in caplog.text


async def test_busy_pass_runs_again_at_once():
    work = [3]

    async def run_pass():
        if work[0]:
            work[0] -= 1
            return True
        return False

    worker = Worker("test worker", run_pass, nothing_due, SystemClock(), lambda: 60.0)
    worker.start()
    await asyncio.sleep(0.05)
    await worker.stop()

    assert work == [0]


async def test_sleeps_until_the_next_item_is_due():
    passes = []
    clock = SystemClock()

    async def run_pass():
        passes.append(clock.now())
        return False

    async def next_due():
        return passes[0] + timedelta(seconds=0.1) if len(passes) == 1 else None

    worker = Worker("test worker", run_pass, next_due, clock, lambda: 60.0)
    worker.start()
    await asyncio.sleep(0.3)
    await worker.stop()

    assert len(passes) == 2
    assert passes[1] - passes[0] >= timedelta(seconds=0.09)
