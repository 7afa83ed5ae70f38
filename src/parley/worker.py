"""A background task that runs passes of work when woken or when work falls due.

The outbox and the scheduler both keep their work in the database. Each runs a pass
when woken after new work was stored and when the earliest item's time comes. It
also runs one at a polling interval, because another Parley process on the same
database may have added work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from parley.types import Clock

logger = logging.getLogger(__name__)

# After a failed pass, the time to wait before the next one.
FAILURE_PAUSE = 5.0
# The shortest sleep between passes, so that an item due now that a pass could not
# take (held by another process, say) does not make the loop spin.
MIN_WAIT = 0.01


class Worker:
    """Runs `run_pass` in a loop, sleeping until `next_due()` between passes.

    A pass that returns a true value (work was done) is followed at once by
    another, because finishing one item may make the next one due. Between passes
    the worker sleeps until the next item is due on `clock`, or `poll_interval()`
    seconds at most.
    """

    def __init__(
        self,
        name: str,
        run_pass: Callable[[], Awaitable[object]],
        next_due: Callable[[], Awaitable[datetime | None]],
        clock: Clock,
        poll_interval: Callable[[], float],
    ) -> None:
        self.name = name
        self._run_pass = run_pass
        self._next_due = next_due
        self._clock = clock
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Run a pass soon, as after new work was stored."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self._run_pass():
                    await asyncio.sleep(0)  # let requests run between passes
                    continue
                wait = await self._idle_time()
            except Exception:
                logger.exception(
                    "The %s failed; trying again in %.0f s", self.name, FAILURE_PAUSE
                )
                wait = FAILURE_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _idle_time(self) -> float:
        due = await self._next_due()
        if due is None:
            return self._poll_interval()
        wait = (due - self._clock.now()).total_seconds()
        return min(max(wait, MIN_WAIT), self._poll_interval())
