"""Retention of finished jobs: by age and by count, with their events and logs, in small
batches on the writer's thread, never touching unfinished jobs nor holding up other writes."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from routilux.engine.clock import utcnow
from routilux.engine.joblogs import JobLog
from routilux.engine.models import Job, JobStatus
from routilux.store import SqlStore, codec, tables
from routilux.store.retention import Retention
from tests.store.conftest import StoreFactory, make_event, make_job, pruned


def _finished(n: int, *, age: float, status: JobStatus = JobStatus.COMPLETED) -> Job:
    job = make_job(n, status=status)
    job.finished_at = utcnow() - timedelta(seconds=age)
    job.output = {"output": [{"blob": "o" * 100}]}
    return job


def _log(n: int, job_id: str) -> JobLog:
    return JobLog(n, job_id, "flow-a", "r", 1, 1, 20, "routine", f"line {n}", utcnow())


async def _job_ids(store: SqlStore) -> set[str]:
    return {job.job_id for job in (await store.list_jobs(limit=1000)).items}


async def test_old_finished_jobs_go_with_their_events(open_store: StoreFactory) -> None:
    store = await open_store(job_retention=3600)
    old = [_finished(1, age=7200), _finished(2, age=7200, status=JobStatus.FAILED)]
    old.append(_finished(3, age=7200, status=JobStatus.CANCELLED))
    recent = _finished(4, age=60)
    queued = make_job(5)  # unfinished jobs stay, however old
    queued.created_at = utcnow() - timedelta(days=30)
    running = make_job(6, status=JobStatus.RUNNING)
    running.finished_at = utcnow() - timedelta(days=30)  # odd, but still not finished
    for job in [*old, recent, queued, running]:
        await store.insert_job(job)
    for i, job in enumerate([*old, recent, queued, running], start=1):
        store.save_event_later(make_event(i, job_id=job.job_id))
        store.save_log_later(_log(i, job.job_id))
    await store.prune()
    assert await _job_ids(store) == {"job_000004", "job_000005", "job_000006"}
    assert await store.get_job("job_000001") is None
    assert await store.list_job_events("job_000001") == []
    assert [e.id for e in await store.list_events(after=0)] == [4, 5, 6]
    assert await store.list_job_logs("job_000002") == []
    assert [line.id for line in await store.list_job_logs("job_000004")] == [4]
    assert store.retention.jobs_pruned == 3


async def test_only_the_newest_finished_jobs_are_kept(open_store: StoreFactory) -> None:
    store = await open_store(jobs_kept=3)
    for n in range(1, 9):
        await store.insert_job(_finished(n, age=100 - n))  # job 8 finished last
    await store.insert_job(make_job(9))  # queued: not counted, not pruned
    await store.prune()
    assert await _job_ids(store) == {"job_000006", "job_000007", "job_000008", "job_000009"}


async def test_backlog_is_pruned_in_batches(store: SqlStore, db_url: str) -> None:
    for n in range(1, 1201):
        store.save_job_later(_finished(n, age=7200))
        store.save_event_later(make_event(n, job_id=f"job_{n:06d}"))
    await store.close()
    retention = Retention(
        events_per_job=100, events_total=10_000, idempotency_ttl=60, job_retention=60, job_chunk=500
    )
    with pruned(db_url, retention) as (conn, passes):
        jobs_left = conn.execute(select(func.count()).select_from(tables.jobs)).scalar()
        events_left = conn.execute(select(func.count()).select_from(tables.events)).scalar()
    assert (passes, jobs_left, events_left) == (3, 0, 0)  # 500 + 500 + 200


async def test_the_file_gives_back_pruned_space(open_store: StoreFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vacuum.db'}"
    store = await open_store(url, jobs_kept=10)
    for n in range(1, 2001):
        job = _finished(n, age=3600 - n)
        job.output = {"output": [{"blob": f"{n}" * 5000}]}
        store.save_job_later(job)
    await store.flush()
    full = (tmp_path / "vacuum.db").stat().st_size
    for _ in range(10):  # each pass gives back at most 8 MB
        await store.prune()
    await store.close()  # checkpoints the WAL into the file
    after = (tmp_path / "vacuum.db").stat().st_size
    print(f"\ndatabase file: {full / 2**20:.1f} MB with 2,000 jobs, {after / 2**20:.1f} MB after")
    assert full > 10 * 2**20
    assert after < full / 4


# A load measurement (120 MB of jobs, tens of seconds): scripts/test --quick leaves it out;
# test_backlog_is_pruned_in_batches checks the batching, the mechanism it measures, quickly.
@pytest.mark.slow
async def test_pruning_a_backlog_does_not_hold_up_writes(store: SqlStore, db_url: str) -> None:
    """12,000 finished jobs of 10 KB each, all past retention: while the store works them off,
    durable writes (a job's insert, as `execute` does) stay fast and the loop never stalls."""
    rows = []
    for n in range(1, 12_001):
        job = _finished(n, age=7200)
        job.output = {"output": [{"blob": "x" * 10_000}]}
        rows.append(codec.job_row(job))
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), 2000):
                conn.execute(tables.jobs.insert(), rows[start : start + 2000])
    finally:
        engine.dispose()
    del rows
    await store.close()

    pruning = SqlStore(db_url, job_retention=60, prune_interval=0.01)
    await pruning.open()
    try:
        lags: list[float] = []
        latencies: list[float] = []

        async def watch_loop(until: float) -> None:
            while time.monotonic() < until:
                started = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - started - 0.005)

        numbers = iter(range(100_000, 200_000))

        async def write(until: float) -> None:
            while time.monotonic() < until:
                started = time.perf_counter()
                await pruning.insert_job(make_job(next(numbers)))
                latencies.append(time.perf_counter() - started)

        deadline = time.monotonic() + 60
        remaining = 12_000
        began = time.monotonic()
        while remaining:
            assert time.monotonic() < deadline, f"{remaining} jobs left to prune"
            await asyncio.gather(watch_loop(time.monotonic() + 0.5), write(time.monotonic() + 0.5))
            remaining = 12_000 - pruning.retention.jobs_pruned
        took = time.monotonic() - began
    finally:
        await pruning.close()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"\npruned 12,000 jobs in {took:.1f} s; {len(latencies)} inserts meanwhile: "
        f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms; loop lag max {max(lags) * 1000:.1f} ms"
    )
    # Percentiles, not maxima: on a loaded machine the OS may not schedule the process for a while
    # whatever it does. Each pass is one short transaction, so a write waits at most about one.
    lags.sort()
    assert lags[int(len(lags) * 0.99)] < 0.1
    assert p99 < 1.0
    assert len(await _job_ids_after(db_url)) == len(latencies)


async def _job_ids_after(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(tables.jobs.c.job_id)).scalars())
    finally:
        engine.dispose()
