"""Taking jobs over from other replicas, and giving them up (see :mod:`routilux.engine.replicas`).

A replica knows the flows and workers that existed when it started and those it made since; a
job claimed from another replica may belong to a flow created there later, or to that replica's
own worker of the flow. Both are read from the store then, and the job resumes from its last
checkpoint as after a restart (:mod:`routilux.engine.recovery`).
"""

from __future__ import annotations

import asyncio

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
        self._flows = flows
        self._workers = workers
        self._store = store
        self._runs = runs
        self._recovery = recovery

    async def resume(self, jobs: list[Job]) -> None:
        """Put jobs claimed from replicas that are gone (or from before a restart) to work."""
        jobs = [job for job in jobs if job.job_id not in self._runs]
        for job in jobs:
            await self._adopt(job)
        await self._recovery.recover(jobs)

    async def _adopt(self, job: Job) -> None:
        """Load ``job``'s flow and worker from the store when this runtime does not have them."""
        if job.flow_id not in self._flows:
            record = await self._store.replicas.get_flow(job.flow_id)
            if record is not None:
                self._flows.load(record)
        if self._workers.find(job.worker_id) is None:
            worker = await self._store.replicas.get_worker(job.worker_id)
            if worker is not None:
                entry = self._flows.get(worker.flow_id)
                self._workers.adopt(worker, entry.compiled if entry else None)

    async def abandon(self) -> None:
        """This replica was marked lost and its jobs taken over: stop them without finishing
        them, and commit what was queued (what is about jobs owned by others now is fenced
        off by the store)."""
        runs = list(self._runs.values())
        self._runs.clear()
        await asyncio.gather(*(run.suspend() for run in runs))
        for worker in self._workers:
            worker.release_all()
        await self._store.flush()
