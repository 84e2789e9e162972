"""What a job's checkpoints hold: the deliveries not yet consumed and each routine's own state.

The unit of durability is the activation. When one ends (its logic returned, or failed under the
``continue`` or ``skip`` strategy), the job hands the store one :class:`Checkpoint`: the
deliveries the activation consumed (by sequence number), the ones it produced (to downstream
slots, or to the job's output), the state of each routine it touched, and the job's progress. Its
size follows what the activation changed, never the job's history.

After a crash the job is rebuilt from what was committed (:class:`JobCheckpoint`): every
delivery not yet consumed is delivered again, in its original order, which refills the routines'
queues, join buffers and batches exactly; timers are re-armed at their stored deadlines;
activations that were running when the process died run again, with the same activation id and
attempt number (at-least-once per activation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from routilux.engine.models import Job, JobStatus, RoutineProgress
from routilux.engine.routine import Payload

DROPPED_AT = frozenset({JobStatus.COMPLETED, JobStatus.CANCELLED})
"""Final statuses whose save drops the job's checkpoint (a failed job keeps it: a retry resumes
from it)."""


@dataclass(slots=True)
class Delivery:
    """One payload on its way: to ``routine_id``'s ``slot``, or (``routine_id`` None) into the
    job's output under the key ``slot`` (``routine.event``)."""

    seq: int
    routine_id: str | None
    slot: str
    payload: Payload
    at: float  # when it was delivered, seconds since the epoch


@dataclass(slots=True)
class Running:
    """An activation of logic that runs outside the loop (a thread or a coroutine), while it
    runs: when it first started and the attempt it is at."""

    started: float  # seconds since the epoch
    attempt: int


@dataclass(slots=True)
class RoutineState:
    """One routine's per-job state beyond its deliveries."""

    routine_id: str
    state: dict[str, Any] = field(default_factory=dict)  # the logic's ``ctx.state``
    deadline: float | None = None  # its armed timer (join, batch, debounce), epoch seconds
    running: dict[int, Running] = field(default_factory=dict)  # by the activation's first seq


@dataclass(slots=True)
class Checkpoint:
    """What one step of a job changed, written by the store as one unit, in order."""

    job_id: str
    seq: int  # the job's last delivery sequence number so far
    progress: dict[str, RoutineProgress]
    added: list[Delivery] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)  # seqs of the deliveries consumed
    states: list[RoutineState] = field(default_factory=list)
    job: Job | None = None  # the whole record, when its status changed with this step
    owner: str | None = None  # the replica that made it: stored only while that one owns the job


@dataclass(slots=True)
class JobCheckpoint:
    """A job's last committed checkpoint, as loaded to resume it."""

    seq: int = 0  # the last delivery sequence number used
    progress: dict[str, RoutineProgress] | None = None  # as of this checkpoint, if stored apart
    deliveries: list[Delivery] = field(default_factory=list)  # in seq order
    states: dict[str, RoutineState] = field(default_factory=dict)


class Saved(Protocol):
    """A routine's part of a job, which a checkpoint saves when it changed."""

    def saved(self) -> RoutineState: ...


class CheckpointLog:
    """The checkpoint being gathered for one job since the last one was handed to the store:
    the deliveries added and taken, and the routines whose state changed."""

    def __init__(self, job_id: str, write: Callable[[Checkpoint], None]) -> None:
        self.job_id = job_id
        self._write = write  # the store's write-behind of a checkpoint
        self.seq = 0  # the last delivery's sequence number
        self._added: list[Delivery] = []
        self._taken: list[int] = []
        self._changed: set[Saved] = set()
        self.batching = False  # steps taken inside one drain slice share one checkpoint
        self.due = False  # a step was taken while batching
        self.owner: str | None = None  # the replica running the job

    def deliver(self, routine_id: str | None, slot: str, payload: Payload) -> Delivery:
        """A new delivery (``routine_id`` None: into the job's output under ``slot``)."""
        self.seq += 1
        delivery = Delivery(self.seq, routine_id, slot, payload, time.time())
        self._added.append(delivery)
        return delivery

    def took(self, seqs: tuple[int, ...]) -> None:
        self._taken.extend(seqs)

    def changed(self, part: Saved) -> None:
        self._changed.add(part)

    def discard(self) -> None:
        """Forget what was gathered: the job ended in a state that keeps no checkpoint."""
        self.due = False
        self._added, self._taken = [], []
        self._changed.clear()

    def commit(self, progress: dict[str, RoutineProgress], job: Job | None = None) -> None:
        """Hand the store what was gathered (written behind, in order: what is stored is always
        a state the job passed through); while batching, once the batch ends."""
        if self.batching:
            self.due = True
            return
        self.due = False
        states = [part.saved() for part in self._changed]
        self._changed.clear()
        checkpoint = Checkpoint(
            self.job_id, self.seq, progress, self._added, self._taken, states, job, self.owner
        )
        self._added, self._taken = [], []
        self._write(checkpoint)
