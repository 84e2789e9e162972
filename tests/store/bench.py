"""Measure the store: group-commit write throughput and list_jobs latency on 100,000 jobs.

Run: ``cd /work/main && PYTHONPATH=server .venv/bin/python -m tests.store.bench [--jobs 100000]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from routilux.engine.clock import new_id, utcnow
from routilux.engine.events import Event, EventType
from routilux.engine.models import Job, JobStatus, RoutineProgress, RoutineStatus
from routilux.store import SqlStore

STATUSES = (
    [JobStatus.COMPLETED] * 6 + [JobStatus.FAILED] * 2 + [JobStatus.QUEUED, JobStatus.RUNNING]
)


def make_job(i: int, status: JobStatus = JobStatus.QUEUED) -> Job:
    return Job(
        job_id=new_id("job"),
        flow_id=f"flow-{i % 10}",
        worker_id=f"wrk-{i % 10}",
        status=status,
        input={"n": i, "name": "x" * 40},
        metadata={"source": "bench"},
        created_at=utcnow(),
    )


class EventIds:
    def __init__(self) -> None:
        self.last = 0

    def event(self, job: Job, routine: str) -> Event:
        self.last += 1
        return Event(
            id=self.last,
            type=EventType.ROUTINE_COMPLETED,
            timestamp=utcnow(),
            flow_id=job.flow_id,
            job_id=job.job_id,
            worker_id=job.worker_id,
            routine_id=routine,
            data={"duration_ms": 1.5, "emitted": 1},
        )


async def write_throughput(store: SqlStore, jobs: int, events_per_job: int) -> dict[str, float]:
    """``jobs`` concurrent jobs: durable insert, 2 durable saves, ``events_per_job`` events."""
    ids = EventIds()

    async def one(i: int) -> None:
        job = make_job(i)
        await store.insert_job(job)
        job.status = JobStatus.RUNNING
        job.started_at = utcnow()
        for k in range(events_per_job // 2):
            store.save_event_later(ids.event(job, f"r{k}"))
        job.progress = {"r0": RoutineProgress(RoutineStatus.COMPLETED, 1, 1, emitted=1)}
        await store.save_job(job)
        for k in range(events_per_job - events_per_job // 2):
            store.save_event_later(ids.event(job, f"r{k}"))
        job.status = JobStatus.COMPLETED
        job.output = {"out": [{"n": i}]}
        job.finished_at = utcnow()
        await store.save_job(job)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(jobs)))
    await store.flush()
    elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "jobs_per_s": jobs / elapsed,
        "job_writes_per_s": 3 * jobs / elapsed,
        "events_per_s": jobs * events_per_job / elapsed,
    }


async def fill(store: SqlStore, count: int) -> None:
    """Store ``count`` jobs through the writer, 2,000 concurrent inserts at a time."""
    batch = 2000
    for start in range(0, count, batch):
        await asyncio.gather(
            *(
                store.insert_job(make_job(i, STATUSES[i % len(STATUSES)]))
                for i in range(start, min(count, start + batch))
            )
        )


async def latency(call: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def read_latency(
    store: SqlStore, runs: int, only: tuple[str, ...] = ()
) -> dict[str, tuple[float, float]]:
    """(p50, p99) in ms of each list_jobs case (or of the ``only`` ones)."""
    done = [JobStatus.COMPLETED]
    deep = await store.list_jobs(statuses=done, limit=1)
    assert deep.total > 0
    # A cursor near the oldest jobs: 90% of the way through the completed ones.
    page = await store.list_jobs(statuses=done, limit=int(deep.total * 0.9))
    cursor = page.next_cursor
    both = [JobStatus.COMPLETED, JobStatus.FAILED]
    cases: dict[str, Callable[[], Awaitable[object]]] = {
        "status first page": lambda: store.list_jobs(statuses=done),
        "status deep page": lambda: store.list_jobs(statuses=done, cursor=cursor),
        "2 statuses first page": lambda: store.list_jobs(statuses=both),
        "2 statuses deep page": lambda: store.list_jobs(statuses=both, cursor=cursor),
        "unfiltered first page": lambda: store.list_jobs(),
        "unfiltered deep page": lambda: store.list_jobs(cursor=cursor),
        "flow first page": lambda: store.list_jobs(flow_id="flow-3"),
        "flow+status deep page": lambda: store.list_jobs(
            flow_id="flow-3", statuses=done, cursor=cursor
        ),
    }
    return {
        name: await latency(call, runs) for name, call in cases.items() if not only or name in only
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs stored for reads")
    parser.add_argument("--writes", type=int, default=2000, help="jobs for the write test")
    parser.add_argument("--runs", type=int, default=300, help="queries per read case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await store.open()
        try:
            w = await write_throughput(store, args.writes, 20)
            print(
                f"writes: {args.writes} jobs x (insert_job + 2 save_job + 20 events) in "
                f"{w['seconds']:.2f}s: {w['jobs_per_s']:.0f} jobs/s, "
                f"{w['job_writes_per_s']:.0f} job writes/s, {w['events_per_s']:.0f} events/s"
            )
            start = time.perf_counter()
            await fill(store, args.jobs - args.writes)
            print(f"filled {args.jobs} jobs in {time.perf_counter() - start:.1f}s")
            for name, (p50, p99) in (await read_latency(store, args.runs)).items():
                print(f"list_jobs {name:24s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
