"""The inline activations of one job (logic that runs on the event loop), run in the order they
became ready, a time slice per turn of the loop.

They need no task each: the job's drain runs them from start to end as a callback of the loop,
scheduled as a task's first step would be. However many of a job's routines are ready at once (a
wide fan-out), it holds the loop for about a slice per turn, then lets the loop serve everything
else (I/O, other jobs) before going on. A job far ahead of its checkpoints waits for the store
before it runs more (see ``AHEAD_OF_STORE``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from time import perf_counter

from routilux.engine.checkpoint import CheckpointLog
from routilux.engine.inbox import Activation, Inbox

DRAIN_SLICE = 0.002
"""Seconds of inline activations one job runs at most per turn of the event loop."""
AHEAD_OF_STORE = 2_000
"""Checkpoint rows a job may have waiting for the store before its drain waits for them: a job
never runs further ahead of its durable state than about two of the writer's batches."""
STORE_WAIT = 0.005
"""Seconds a job that is that far ahead waits before it looks again."""


class InlineQueue:
    """A job's inline activations taken from their inboxes, not yet run."""

    def __init__(
        self,
        run: Callable[[Inbox, Activation], None],
        log: CheckpointLog,
        commit: Callable[[], None],
        behind: Callable[[], int],
    ) -> None:
        self._run = run
        self._log = log
        self._commit = commit
        self._behind = behind  # the job's checkpoint rows the store has not yet taken
        self._ready: deque[tuple[Inbox, Activation]] = deque()
        self._draining = False

    def add(self, node: Inbox, activation: Activation) -> None:
        """Run ``activation`` of ``node`` after those ready before it."""
        self._ready.append((node, activation))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().call_soon(self._drain)

    def take_all(self) -> deque[tuple[Inbox, Activation]]:
        """Remove what is ready (the job ends): taken, not started."""
        ready, self._ready = self._ready, deque()
        return ready

    def _drain(self) -> None:
        ready = self._ready
        if self._behind() > AHEAD_OF_STORE:
            # The database is behind this job: let it catch up rather than queue more (a
            # runaway job then runs at the pace of its writes, and leaves the loop and the
            # writer to everyone else meanwhile).
            asyncio.get_running_loop().call_later(STORE_WAIT, self._drain)
            return
        deadline = perf_counter() + DRAIN_SLICE
        self._log.batching = True
        try:
            while ready:
                node, activation = ready.popleft()
                self._run(node, activation)
                if perf_counter() >= deadline:
                    break
        finally:
            self._log.batching = False
        if self._log.due:
            # The slice's activations as one checkpoint: still a state the job passed through.
            self._commit()
        if ready:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._draining = False
