"""Pausing a job and resuming it: at a breakpoint, or with its worker.

These change the job's record and publish what changed; the job's run stores the record and
decides when its routines start again. A job paused at a breakpoint stays paused there when its
worker resumes, and the other way round.
"""

from __future__ import annotations

from routilux.engine.events import EventType, JobPublisher
from routilux.engine.models import Breakpoint, Job, JobStatus, PausedAt
from routilux.engine.routine import Inputs


def pause_at_breakpoint(
    job: Job, breakpoint: Breakpoint, routine_id: str, inputs: Inputs, publisher: JobPublisher
) -> None:
    """Pause ``job`` before an activation of ``routine_id`` with ``inputs``, which hit
    ``breakpoint`` (whose hit count goes up)."""
    item = next((i for i in inputs.items if breakpoint.slot in (None, i.slot)), inputs.items[0])
    job.status = JobStatus.PAUSED
    job.paused_at = PausedAt(
        breakpoint_id=breakpoint.breakpoint_id,
        routine_id=routine_id,
        slot=item.slot,
        payload=item.payload,
    )
    breakpoint.hit_count += 1
    data = {
        "breakpoint_id": breakpoint.breakpoint_id,
        "slot": item.slot,
        "payload": item.payload,
        "hit_count": breakpoint.hit_count,
    }
    publisher.publish(EventType.BREAKPOINT_HIT, routine_id=routine_id, data=data)
    publisher.publish(
        EventType.JOB_PAUSED,
        routine_id=routine_id,
        data={"reason": "breakpoint", "breakpoint_id": breakpoint.breakpoint_id},
    )


def resume_from_breakpoint(job: Job, publisher: JobPublisher, *, paused_by_worker: bool) -> bool:
    """Let ``job`` go on from the breakpoint it waits at; False if it waits at none."""
    paused_at = job.paused_at
    if paused_at is None:
        return False
    job.paused_at = None
    if job.status is JobStatus.PAUSED and not paused_by_worker:
        job.status = JobStatus.RUNNING
    publisher.publish(
        EventType.JOB_RESUMED,
        routine_id=paused_at.routine_id,
        data={"reason": "breakpoint_resumed", "breakpoint_id": paused_at.breakpoint_id},
    )
    return True


def pause_with_worker(job: Job, publisher: JobPublisher) -> bool:
    """Pause a running ``job`` as its worker pauses; False if it was not running."""
    if job.status is not JobStatus.RUNNING:
        return False
    job.status = JobStatus.PAUSED
    publisher.publish(EventType.JOB_PAUSED, data={"reason": "worker_paused"})
    return True


def resume_with_worker(job: Job, publisher: JobPublisher) -> bool:
    """Resume ``job`` as its worker resumes, unless a breakpoint holds it; False if it stays."""
    if job.status is not JobStatus.PAUSED or job.paused_at is not None:
        return False
    job.status = JobStatus.RUNNING
    publisher.publish(EventType.JOB_RESUMED, data={"reason": "worker_resumed"})
    return True
