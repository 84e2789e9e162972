"""Recently finished jobs, kept in memory for fast reads within a count and a byte bound.

A job's weight is what it holds (its input and output as JSON, plus a fixed overhead); the oldest
go first. A job too big for the cache is read from the store, where it is durable already.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from routilux.engine.models import Job

FINISHED_JOB_OVERHEAD = 2048
"""Bytes a finished job holds besides its input and output: record, progress, timestamps."""


class FinishedJobs:
    def __init__(self, *, count: int, size: int, retention: float | None = None) -> None:
        self.max_count = count
        self.max_bytes = size
        self.retention = retention  # seconds a finished job is kept by the store
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._weight: dict[str, int] = {}  # bytes each cached job holds
        self.bytes = 0

    def add(self, job: Job, weight: int) -> None:
        if weight > self.max_bytes // 16:
            return
        self._jobs[job.job_id] = job
        self._weight[job.job_id] = weight
        self.bytes += weight
        while len(self._jobs) > self.max_count or self.bytes > self.max_bytes:
            job_id, _ = self._jobs.popitem(last=False)
            self.bytes -= self._weight.pop(job_id)

    def get(self, job_id: str, now: datetime) -> Job | None:
        """The job, unless it is not kept or is past the store's retention (then forgotten)."""
        job = self._jobs.get(job_id)
        retention = self.retention
        if job is not None and retention is not None and job.finished_at is not None:
            if (now - job.finished_at).total_seconds() > retention:
                self.forget(job_id)
                return None
        return job

    def forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)
        self.bytes -= self._weight.pop(job_id, 0)

    def clear(self) -> None:
        self._jobs.clear()
        self._weight.clear()
        self.bytes = 0
