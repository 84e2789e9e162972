"""Measure the event loop's lag: how late a task that sleeps 10 ms in a loop wakes up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Lag:
    """The largest delay seen so far, and how many sleeps it was measured over."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0


@asynccontextmanager
async def loop_lag(period: float = 0.01) -> AsyncIterator[Lag]:
    """Measure the loop's lag while the block runs (on exit, the sleep in progress counts)."""
    lag = Lag()

    def record(start: float) -> None:
        lag.worst = max(lag.worst, time.perf_counter() - start - period)
        lag.ticks += 1

    async def tick() -> None:
        while True:
            start = time.perf_counter()
            try:
                await asyncio.sleep(period)
            except asyncio.CancelledError:
                # Cancelled on exit: the sleep cut short still tells how late the loop got back.
                lag.worst = max(lag.worst, time.perf_counter() - start - period)
                raise
            record(start)

    task = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        yield lag
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print(f"loop lag: worst {lag.worst * 1000:.1f} ms over {lag.ticks} sleeps")  # with -s
