"""The jobs a runtime holds in memory: the unfinished ones, by their runs, and the recently
finished ones (see :mod:`routilux.engine.finished`).

Reads of a job come from here first, then from the store; waiting for a job to finish, or to
settle (finish or pause), happens here too.
"""

from __future__ import annotations

import asyncio

from routilux.engine.clock import utcnow
from routilux.engine.errors import JobNotFound
from routilux.engine.finished import FINISHED_JOB_OVERHEAD, FinishedJobs
from routilux.engine.job import JobRun
from routilux.engine.models import Job
from routilux.engine.storage import Store
from routilux.engine.waiters import SETTLED, SettleWaiters


class LiveJobs:
    def __init__(self, store: Store, finished: FinishedJobs) -> None:
        self._store = store
        self.runs: dict[str, JobRun] = {}  # the unfinished jobs, by id
        self.finished = finished
        self.waiters = SettleWaiters()  # get_job?wait

    def owns(self, job_id: str) -> bool:
        """Whether ``job_id`` is unfinished here."""
        return job_id in self.runs

    def get(self, job_id: str) -> Job | None:
        """The job if it is unfinished or recently finished, without touching the store."""
        run = self.runs.get(job_id)
        if run is not None:
            return run.job
        return self.finished.get(job_id, utcnow())

    async def read(self, job_id: str) -> Job:
        """The job, from memory or else from the store."""
        job = self.get(job_id) or await self._store.get_job(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id!r} does not exist", job_id=job_id)
        return job

    async def wait_finished(self, job_id: str, timeout: float | None) -> Job:
        """Wait until the job is finished (and durable); raise TimeoutError after ``timeout``."""
        run = self.runs.get(job_id)
        if run is not None:
            async with asyncio.timeout(timeout):
                await run.finished.wait()
        return await self.read(job_id)

    async def wait_settled(self, job_id: str, timeout: float) -> Job:
        """The job once it is finished or paused, or as it is after ``timeout`` seconds."""
        run = self.runs.get(job_id)
        if run is None or timeout <= 0 or run.job.status in SETTLED:
            return await self.read(job_id)
        await self.waiters.wait(job_id, timeout)
        return await self.read(job_id)

    def ended(self, run: JobRun) -> None:
        """``run``'s job finished: keep it among the finished ones if it fits."""
        job = run.job
        self.runs.pop(job.job_id, None)
        self.finished.add(job, FINISHED_JOB_OVERHEAD + run.input_bytes + run.output_bytes)

    def unfinished(self) -> list[Job]:
        return [run.job for run in self.runs.values()]
