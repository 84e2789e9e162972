"""How a job ends: the final record it is stored with, and the event that announces it.

A job's end is durable before it is visible: the store has the final record before the job's
final event is published, so a client that sees either can rely on it, through a crash too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from routilux.engine.clock import utcnow
from routilux.engine.events import EventType, JobPublisher
from routilux.engine.models import Job, JobError, JobStatus, RoutineStatus
from routilux.engine.storage import Store

log = logging.getLogger("routilux.engine")

WINDING_DOWN = frozenset(
    {JobStatus.CANCELLING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
"""A job in one of these starts nothing more."""

_ENDED_EVENTS = {
    JobStatus.COMPLETED: EventType.JOB_COMPLETED,
    JobStatus.FAILED: EventType.JOB_FAILED,
    JobStatus.CANCELLED: EventType.JOB_CANCELLED,
}


def final_record(job: Job, status: JobStatus, error: JobError | None) -> Job:
    """A copy of ``job`` as it ends with ``status``: its routines that were running or idle
    are complete."""
    final = replace(
        job,
        status=status,
        error=error,
        paused_at=None,
        finished_at=utcnow(),
        progress={rid: replace(p) for rid, p in job.progress.items()},
    )
    for progress in final.progress.values():
        if progress.status in (RoutineStatus.RUNNING, RoutineStatus.IDLE):
            progress.status = RoutineStatus.COMPLETED
    return final


async def store_then_announce(
    final: Job, job: Job, store: Store, publisher: JobPublisher
) -> None:
    """Store ``final``, then make ``job`` (the live record) match it and publish its end."""
    try:
        await store.save_job(final)
    except Exception:
        log.exception(
            "could not store the final state of job %s",
            final.job_id,
            extra={"flow_id": final.flow_id, "job_id": final.job_id},
        )
    job.status, job.error, job.paused_at = final.status, final.error, None
    job.finished_at, job.progress = final.finished_at, final.progress
    data: dict[str, Any] = {}
    if job.error is not None:
        data["error"] = {
            "code": job.error.code,
            "type": job.error.type,
            "message": job.error.message,
            "routine_id": job.error.routine_id,
        }
    publisher.publish(_ENDED_EVENTS[job.status], data=data)
