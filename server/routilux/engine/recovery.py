"""Putting jobs back to work from what the store kept of them: after a restart, every job that
was unfinished (:meth:`JobRecovery.recover`); on request, a failed job, from its last checkpoint
(:meth:`JobRecovery.retry`).

A job runs on the revision of its flow it was queued with; one whose revision can no longer run
(deleted, or invalid now) is closed as failed after a restart, and cannot be retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from routilux.engine.clock import utcnow
from routilux.engine.errors import JobNotRetryable
from routilux.engine.events import EventBus, EventType
from routilux.engine.finished import FinishedJobs
from routilux.engine.flows import FlowCatalog
from routilux.engine.job import JobRun
from routilux.engine.models import Job, JobError, JobStatus, RoutineStatus, WorkerStatus
from routilux.engine.sizes import input_bytes
from routilux.engine.storage import Store
from routilux.engine.workers import WorkerPool


class JobRecovery:
    """Rebuilds the runs of stored jobs and submits them to their workers; ``runs`` is the
    runtime's table of unfinished jobs, which it adds them to."""

    def __init__(
        self,
        flows: FlowCatalog,
        workers: WorkerPool,
        store: Store,
        runs: dict[str, JobRun],
        finished: FinishedJobs,
    ) -> None:
        self._flows = flows
        self._workers = workers
        self._store = store
        self._runs = runs
        self._finished = finished
        self._retrying: set[str] = set()  # jobs a retry is putting back to work
        # This runtime's replica (engine/replicas.py): a retried job is taken over by it.
        self.owner: Callable[[], str | None] = lambda: None

    def retrying(self, job_id: str) -> bool:
        """Whether a retry is putting ``job_id`` back to work (it is not in ``runs`` yet)."""
        return job_id in self._retrying

    async def recover(self, unfinished: Iterable[Job]) -> None:
        """Put the jobs that were unfinished when the server stopped back to work, or close
        those that cannot run any more."""
        # Jobs that were running resume first (they held their workers' places), then the queue.
        for job in sorted(unfinished, key=lambda j: (j.status is JobStatus.QUEUED, j.created_at)):
            await self._recover(job)

    async def _recover(self, job: Job) -> None:
        """Put an unfinished job back to work after a restart: a queued one into its worker's
        queue, a running or paused one resumed from its last checkpoint."""
        worker = self._workers.find(job.worker_id)
        compiled = await self._flows.runnable_revision(job)
        if job.status is JobStatus.CANCELLING:
            job.status = JobStatus.CANCELLED
        elif worker is None or compiled is None or worker.worker.status is WorkerStatus.STOPPED:
            job.status = JobStatus.FAILED
            job.error = JobError(
                code="interrupted",
                type="Interrupted",
                message="the server stopped while the job was unfinished, and its flow "
                f"(revision {job.flow_revision}) can no longer run: deleted, or invalid now",
            )
        else:
            run = JobRun(job, compiled, worker)
            self._runs[job.job_id] = run
            if job.status is JobStatus.QUEUED:
                # Nothing of it ran yet, so running it now (on the revision it was queued
                # with) is exactly what was asked.
                run.input_bytes = input_bytes(job.input)
                worker.submit(run, run.input_bytes)
            else:
                run.restore(await self._store.load_checkpoint(job.job_id), recovered=True)
                worker.submit(run)
            return
        job.finished_at = utcnow()
        job.paused_at = None
        await self._store.save_job(job)

    async def retry(
        self, job_id: str, get_job: Callable[[str], Awaitable[Job]], bus: EventBus
    ) -> Job:
        """Put a failed job back to work from its last checkpoint (``get_job`` reads it): what
        failed (and whatever else was unfinished when it failed) runs again; the rest is not
        repeated. A job with no checkpoint runs again from its input."""
        if job_id in self._runs or job_id in self._retrying:
            job = await get_job(job_id)
            raise JobNotRetryable(
                f"job {job_id!r} is {job.status.value}; only a failed job can be retried",
                status=job.status.value,
            )
        self._retrying.add(job_id)
        try:
            return await self._retry(await get_job(job_id), bus)
        finally:
            self._retrying.discard(job_id)

    async def _retry(self, stored: Job, bus: EventBus) -> Job:
        job_id = stored.job_id
        if stored.status is not JobStatus.FAILED:
            raise JobNotRetryable(
                f"job {job_id!r} is {stored.status.value}; only a failed job can be retried",
                status=stored.status.value,
            )
        compiled = await self._flows.runnable_revision(stored)
        if compiled is None:
            raise JobNotRetryable(
                f"job {job_id!r} cannot be retried: its flow (revision {stored.flow_revision}) "
                "was deleted or can no longer run",
                status=stored.status.value,
            )
        entry = self._flows.get(stored.flow_id)
        created = entry.record.created_at if entry is not None else stored.created_at
        worker = self._workers.for_flow(compiled, created)
        worker.check_capacity()
        checkpoint = await self._store.load_checkpoint(job_id)
        owner = self.owner()
        if not await self._store.replicas.take_job(job_id, owner or ""):  # another's retry
            raise JobNotRetryable(
                f"job {job_id!r} is being retried already; only a failed job can be retried",
                status=JobStatus.QUEUED.value,
            )
        job = replace(
            stored,
            owner=owner,
            status=JobStatus.QUEUED,
            error=None,
            paused_at=None,
            finished_at=None,
            progress={rid: replace(p) for rid, p in stored.progress.items()},
        )
        for progress in job.progress.values():
            if progress.status is RoutineStatus.FAILED:
                progress.status = RoutineStatus.IDLE
        await self._store.save_job(job)
        self._finished.forget(job_id)
        bus.publish(
            EventType.JOB_RETRIED,
            flow_id=job.flow_id,
            job_id=job_id,
            worker_id=job.worker_id,
            data={"checkpoint": checkpoint.seq},
        )
        run = JobRun(job, compiled, worker)
        run.restore(checkpoint, recovered=False)
        self._runs[job_id] = run
        worker.submit(run)
        return job
