"""How many of the queued events (and log lines) one batch of the writer takes: what it writes
in about ``EVENT_SECONDS`` on this machine, now.

A durable write (a new job, a job's end) that arrives while a batch is being written waits for
that batch. A fixed number of events per batch makes that wait as long as the machine is slow
(500 events took 10 ms on a quiet machine and several times that on a loaded one); a time keeps
it the same everywhere. The writer notes how long each batch of some size took per row (an
exponential average, so that it follows the machine's load within a few batches) and sizes the
next ones from it, between a floor that keeps batches worth their commit and a cap.

A job's checkpoints are taken by rows instead (``batches.CHECKPOINT_ROWS_PER_BATCH``): a job
runs only so far ahead of them (engine/inline.py), so fewer rows per batch would slow every
busy job rather than just shorten the batch.
"""

from __future__ import annotations

EVENT_SECONDS = 0.005
"""How long writing one batch's share of the events should take."""
EVENTS_PER_BATCH = 500
"""Events and log lines written in one transaction at most (with everything else queued)."""
EVENTS_AT_LEAST = 50
"""The least a batch takes of them when more are queued."""
MEASURED_FROM = 100
"""Rows a batch writes for its time to say something about the time per row (below that, the
commit's fixed cost dominates)."""
FOLLOW = 0.2
"""Weight of the newest batch in the average time per row."""


class Pace:
    """The events the writer's next batch takes, from the time per row of the batches before."""

    def __init__(self) -> None:
        # Until measured: the cap, as if rows cost what they cost on a quiet machine.
        self.row_seconds = EVENT_SECONDS / EVENTS_PER_BATCH

    def note(self, rows: int, seconds: float) -> None:
        """A batch of ``rows`` rows took ``seconds`` to write and commit."""
        if rows >= MEASURED_FROM:
            self.row_seconds += FOLLOW * (seconds / rows - self.row_seconds)

    @property
    def events(self) -> int:
        return max(EVENTS_AT_LEAST, min(EVENTS_PER_BATCH, round(EVENT_SECONDS / self.row_seconds)))
