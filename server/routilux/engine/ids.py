"""Ids for events and job log lines.

A process alone on its database counts by itself (the event bus, the job log capture): an id is
the larger of the previous one plus one and the clock in microseconds, so ids keep increasing
across restarts without asking the store. Processes sharing a database take their ids from blocks
the database reserves for each of them (:class:`IdBlocks`): never the same id twice in the
deployment, and increasing within each process. The next block is reserved in the background
once half of the current one is used, so publishing an event never waits for the database unless
a burst used a whole block before the next one arrived.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger("routilux.engine")

BLOCK = 10_000
"""Ids reserved at a time."""
WAIT_AT_MOST = 1.0
"""Seconds an id waits for the next block at most (only once a burst used a whole block)."""


class IdBlocks:
    """Ids from blocks that ``reserve(n, at_least)`` (blocking) sets aside in the database for
    this process; it returns the first id of the block, ``at_least`` or above."""

    def __init__(self, reserve: Callable[[int, int], int], size: int = BLOCK) -> None:
        self._reserve = reserve
        self.size = size
        self._next = 0
        self._end = 0
        self._spare: Future[int] | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="routilux-ids")
        self.waited = 0  # blocks that had to be reserved while an id was waited for

    def prime(self) -> None:
        """Reserve the first block (blocking: call it from a thread)."""
        first = self._reserve(self.size, 0)
        with self._lock:
            self._next, self._end = first, first + self.size

    def __call__(self) -> int:
        with self._lock:
            if self._next >= self._end:
                self._refill()
            value = self._next
            self._next += 1
            if self._spare is None and self._end - self._next < self.size // 2:
                self._spare = self._pool.submit(self._reserve, self.size, self._end)
            return value

    def _refill(self) -> None:
        spare, self._spare = self._spare, None
        if spare is None or not spare.done():
            self.waited += 1
        try:
            if spare is not None:
                first = spare.result(WAIT_AT_MOST)
            else:
                first = self._reserve(self.size, self._end)
            if first < self._end:  # ids were counted by the clock past it meanwhile
                first = self._reserve(self.size, self._end)
        except Exception:
            # The database is away (its writes wait anyway): ids follow the clock from here,
            # beyond this process's own, until a block can be reserved again. One of them may
            # then be another process's too, and that event is missing from the history.
            log.warning("no block of event ids could be reserved; counting by the clock")
            first = max(self._end, time.time_ns() // 1000)
        self._next, self._end = first, first + self.size

    @property
    def last(self) -> int:
        return self._next - 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
