"""Restoring a job from its last checkpoint (see :mod:`routilux.engine.checkpoint`): its
progress, its routines' state, queues, join buffers and batches, their timers, and its output.

Every delivery not yet consumed is delivered again, in its original order, through the job's own
routing; that is what refills the queues and buffers exactly as they were.
"""

from __future__ import annotations

import time
from typing import Protocol

from routilux.engine.checkpoint import Delivery, JobCheckpoint
from routilux.engine.inbox import JobInboxes
from routilux.engine.models import Job, JobStatus, RoutineStatus
from routilux.engine.routine import Payload
from routilux.engine.spec import CompiledFlow


class Replaying(Protocol):
    """The run of the job being restored: what replaying a checkpoint rebuilds."""

    job: Job
    flow: CompiledFlow

    inboxes: JobInboxes

    def deliver(
        self, routine_id: str, slot: str, payload: Payload, replayed: Delivery | None = None
    ) -> None:
        """Deliver ``payload`` to a routine's slot (again, if ``replayed``)."""

    def output(self, key: str, payload: Payload) -> bool:
        """Add to the job's output; False if that passed its bound."""


def restore_progress(job: Job, checkpoint: JobCheckpoint) -> int:
    """Set ``job``'s progress as of ``checkpoint``, its output empty (refilled by
    :func:`replay`); return the activations the job had started."""
    if checkpoint.progress is not None:
        job.progress.update(checkpoint.progress)
    job.output = {}
    activations = sum(p.activations for p in job.progress.values())
    for progress in job.progress.values():
        if progress.status is RoutineStatus.RUNNING:
            progress.status = RoutineStatus.IDLE
    return activations


def replay(run: Replaying, checkpoint: JobCheckpoint) -> None:
    """Rebuild ``run``'s queues, buffers, timers and output from ``checkpoint``."""
    routines = run.flow.routines
    for routine_id, saved in checkpoint.states.items():
        if routine_id not in routines:
            continue
        run.inboxes.of(routine_id).load(saved)
    for delivery in checkpoint.deliveries:
        if delivery.routine_id is None:
            run.output(delivery.slot, delivery.payload)
        elif delivery.routine_id in routines:
            run.deliver(delivery.routine_id, delivery.slot, delivery.payload, delivery)
    now = time.time()
    for routine_id, saved in checkpoint.states.items():
        armed = run.inboxes.get(routine_id)
        if armed is not None:
            # Timers fire at their original deadlines (at once if that has passed).
            armed.rearm_at(saved.deadline, now)
    job = run.job
    paused_at = job.paused_at
    if job.status is JobStatus.PAUSED and paused_at is not None:
        waiting = run.inboxes.get(paused_at.routine_id)
        if waiting is not None and waiting.queue:
            waiting.queue[0].passed_breakpoint = True  # it waits there: no second hit
