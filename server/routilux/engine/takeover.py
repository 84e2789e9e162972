"""Taking jobs over from other replicas, and giving them up (see :mod:`routilux.engine.replicas`).

A replica knows the flows and workers that existed when it started and those it made since; a
job claimed from another replica may belong to a flow created there later, or to that replica's
own worker of the flow. Both are read from the store then, and the job resumes from its last
checkpoint as after a restart (:mod:`routilux.engine.recovery`). A job placed on this replica by
another one (:mod:`routilux.engine.placement`) is started the same way, from the store.

A job is put to work here once only: while it is being loaded (or inserted, or retried) it is
``busy``, so a heartbeat that finds it owned here but not running yet leaves it alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from routilux.engine.flows import FlowCatalog
from routilux.engine.job import JobRun
from routilux.engine.models import Job
from routilux.engine.recovery import JobRecovery
from routilux.engine.storage import Store
from routilux.engine.workers import WorkerPool


class Takeover:
    """A runtime's side of its replica: ``runs`` is the runtime's table of unfinished jobs."""

    def __init__(
        self,
        flows: FlowCatalog,
        workers: WorkerPool,
        store: Store,
        runs: dict[str, JobRun],
        recovery: JobRecovery,
    ) -> None:
        self.flows = flows
        self.workers = workers
        self.store = store
        self.runs = runs
        self.recovery = recovery
        self._starting: set[str] = set()  # jobs being put to work here, not in ``runs`` yet

    def busy(self, job_id: str) -> bool:
        """Whether ``job_id`` runs here, or is being put to work here."""
        return job_id in self.runs or job_id in self._starting or self.recovery.retrying(job_id)

    @contextmanager
    def starting(self, job_ids: Iterable[str]) -> Iterator[None]:
        """Mark jobs busy while they are put to work (their ``runs`` entry is not there yet)."""
        ids = set(job_ids)
        self._starting |= ids
        try:
            yield
        finally:
            self._starting -= ids

    async def resume(self, jobs: list[Job]) -> None:
        """Put jobs claimed from replicas that are gone (or from before a restart) to work."""
        jobs = [job for job in jobs if not self.busy(job.job_id)]
        with self.starting(job.job_id for job in jobs):
            for job in jobs:
                await self._adopt(job)
            await self.recovery.recover(jobs)

    async def start_owned(self, job_ids: list[str]) -> int:
        """Start those of ``job_ids`` that this replica owns but does not run yet (a job placed
        on it: named by a signal, or found by a heartbeat); how many it started."""
        idle = [job_id for job_id in job_ids if not self.busy(job_id)]
        if not idle:
            return 0
        owner, jobs = self.recovery.owner(), []
        with self.starting(idle):
            for job_id in idle:
                job = await self.store.get_job(job_id)
                if job is not None and job.owner == owner and not job.status.finished:
                    jobs.append(job)
        await self.resume(jobs)
        return len(jobs)

    async def _adopt(self, job: Job) -> None:
        """Load ``job``'s flow and worker from the store when this runtime does not have them."""
        if job.flow_id not in self.flows:
            record = await self.store.replicas.get_flow(job.flow_id)
            if record is not None:
                self.flows.load(record)
        if self.workers.find(job.worker_id) is None:
            worker = await self.store.replicas.get_worker(job.worker_id)
            if worker is not None:
                entry = self.flows.get(worker.flow_id)
                self.workers.adopt(worker, entry.compiled if entry else None)

    async def abandon(self) -> None:
        """This replica was marked lost and its jobs taken over: stop them without finishing
        them, and commit what was queued (what is about jobs owned by others now is fenced
        off by the store)."""
        runs = list(self.runs.values())
        self.runs.clear()
        await asyncio.gather(*(run.suspend() for run in runs))
        for worker in self.workers:
            worker.release_all()
        await self.store.flush()
