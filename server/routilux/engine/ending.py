"""How a job ends: its wall-time bound, the final record it is stored with, and the event that
announces it; or, as the process stops, how it is suspended without ending.

A job's end is durable before it is visible: its final record and the event announcing it are
committed together, before anyone sees that event, so a client that sees either can rely on it,
through a crash too, and a crash never keeps one without the other (the job would end again
after its recovery, and announce it twice, or its end would never be announced).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from routilux.engine.checkpoint import DROPPED_AT
from routilux.engine.clock import utcnow
from routilux.engine.events import EventType, JobAnnouncer
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


def _nothing() -> None:
    pass


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


class JobEnd:
    """The end of one job: the timer of its wall-time bound, the one final state it ends in
    (the first one asked for), stored then announced; ``finished`` is set once that is done, or
    once the job was suspended."""

    def __init__(
        self,
        job: Job,
        store: Store,
        publisher: JobAnnouncer,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        ended: Callable[[], None],
    ) -> None:
        self._job = job
        self._store = store
        self._publisher = publisher
        self._spawn = spawn  # runs bookkeeping in the background
        self._ended = ended  # told once the end is stored and published
        self.finishing = False  # ending or suspended: nothing more is routed or checkpointed
        self.ending: JobStatus | None = None  # the final status asked for, once asked
        self.finished = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def drops_checkpoint(self) -> bool:
        """Whether the job ends in a state whose save drops its checkpoint (nothing more of it
        is worth handing to the store)."""
        return self.ending in DROPPED_AT

    def arm(self, seconds: float, expired: Callable[[], None]) -> None:
        """Call ``expired`` after ``seconds``, unless the job ends or stops first."""
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire, expired)

    def _expire(self, expired: Callable[[], None]) -> None:
        self._timer = None
        expired()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def finish(self, status: JobStatus, error: JobError | None) -> None:
        """End the job with ``status`` (unless it is ending already)."""
        if self.finishing:
            return
        self.finishing = True
        self.ending = status
        self.disarm()
        self._spawn(self._store_then_announce(final_record(self._job, status, error)))

    def finish_after(
        self, tasks: list[asyncio.Task[None]], status: JobStatus, error: JobError | None
    ) -> None:
        """End the job with ``status`` once ``tasks`` (cancelled) are over."""

        async def wait_then_finish() -> None:
            await asyncio.gather(*tasks, return_exceptions=True)
            self.finish(status, error)

        if tasks:
            self._spawn(wait_then_finish())
        else:
            self.finish(status, error)

    async def suspend(self, tasks: list[asyncio.Task[None]], grace: float) -> None:
        """Stop without ending, as the process stops: cancel ``tasks`` and wait up to ``grace``
        seconds for them (a thread cannot be interrupted)."""
        self.finishing = True
        self.disarm()
        self._ended = _nothing
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        self.finished.set()

    async def _store_then_announce(self, final: Job) -> None:
        await store_then_announce(final, self._job, self._store, self._publisher)
        ended, self._ended = self._ended, _nothing  # (its run refers to this: no cycle left)
        ended()
        self.finished.set()


async def store_then_announce(final: Job, job: Job, store: Store, publisher: JobAnnouncer) -> None:
    """Store ``final`` with the event of its end, then make ``job`` (the live record) match it
    and publish that event."""
    data: dict[str, Any] = {}
    if final.error is not None:
        data["error"] = {
            "code": final.error.code,
            "type": final.error.type,
            "message": final.error.message,
            "routine_id": final.error.routine_id,
        }
    event = publisher.reserve(_ENDED_EVENTS[final.status], data=data)
    try:
        await store.save_job(final, event)
    except Exception:
        log.exception(
            "could not store the final state of job %s",
            final.job_id,
            extra={"flow_id": final.flow_id, "job_id": final.job_id},
        )
    job.status, job.error, job.paused_at = final.status, final.error, None
    job.finished_at, job.progress = final.finished_at, final.progress
    publisher.announce(event)
