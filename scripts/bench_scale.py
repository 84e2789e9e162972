"""Section 5: ``GET /api/v1/jobs`` with 100,000 stored jobs.

The database is prepared directly: migrated by the store itself, then 100,000 finished jobs
(completed, failed, cancelled; 10 flows) written with one executemany per 10,000 rows through the
store's own engine and row codec. The server is then started on it, and one client measures
each query in turn (sequentially, after a warm-up): the first page, with and without a status
filter, and a page deep in the list (a cursor 90% of the way down).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_common import CLIENT_CPUS, log, on_cpus, ours, percentile
from sqlalchemy import insert

from routilux.engine.clock import utcnow
from routilux.engine.models import Job, JobError, JobStatus, RoutineProgress, RoutineStatus
from routilux.server.pagination import encode_cursor
from routilux.store import SqlStore, codec, database, tables

STATUSES = [JobStatus.COMPLETED] * 7 + [JobStatus.FAILED] * 2 + [JobStatus.CANCELLED]
CHUNK = 10_000


def _job(i: int, base: Any) -> Job:
    status = STATUSES[i % len(STATUSES)]
    created = base + timedelta(milliseconds=i)
    progress = {
        rid: RoutineProgress(status=RoutineStatus.COMPLETED, activations=1, completed=1, emitted=1)
        for rid in ("shape", "keep", "label")
    }
    return Job(
        job_id=f"job_{i:08d}",
        flow_id=f"flow-{i % 10}",
        worker_id=f"wrk-{i % 10}",
        status=status,
        input={"value": i, "name": f"job {i}"},
        created_at=created,
        metadata={"source": "bench"},
        output={"label.output": [{"id": i, "label": f"job {i}"}]}
        if status is JobStatus.COMPLETED
        else {},
        error=JobError("routine_failed", "ValueError", "bad value", "keep")
        if status is JobStatus.FAILED
        else None,
        progress=progress,
        started_at=created,
        finished_at=created + timedelta(milliseconds=3),
    )


def prepare(data_dir: Path, count: int) -> float:
    """Create ``data_dir/routilux.db`` holding ``count`` jobs; return the seconds it took."""
    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'routilux.db').resolve()}"

    async def migrate() -> None:
        store = SqlStore(url)
        await store.open()
        await store.close()

    asyncio.run(migrate())
    engine = database.create(database.parse(url), pool_size=1, synchronous="OFF")
    base = utcnow() - timedelta(days=2)
    try:
        with engine.begin() as conn:
            for start in range(0, count, CHUNK):
                rows = [
                    codec.job_row(_job(i, base)) for i in range(start, min(count, start + CHUNK))
                ]
                conn.execute(insert(tables.jobs), rows)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _measure(client: httpx.Client, url: str, requests: int) -> dict[str, Any]:
    for _ in range(20):
        client.get(url).raise_for_status()
    times: list[float] = []
    items = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        items = len(response.json()["items"])
    return {
        "p50_ms": round(percentile(times, 50) * 1000, 2),
        "p99_ms": round(percentile(times, 99) * 1000, 2),
        "items": items,
        "requests": requests,
    }


def run(workdir: Path, count: int = 100_000, requests: int = 300) -> dict[str, Any]:
    data_dir = workdir / "ours-scale"
    log(f"scale: writing {count} jobs")
    prepared = prepare(data_dir, count)
    log(f"scale: {count} jobs written in {prepared:.1f} s; starting the server on them")
    # A cursor 90% of the way down: the seq of a job near the oldest end (seq = i + 1).
    deep = encode_cursor(str(count // 10))
    queries = {
        "first_page": "/api/v1/jobs?limit=50",
        "first_page_status": "/api/v1/jobs?limit=50&status=failed",
        "deep_page": f"/api/v1/jobs?limit=50&cursor={deep}",
        "deep_page_status": f"/api/v1/jobs?limit=50&status=failed&cursor={deep}",
    }
    results: dict[str, Any] = {"jobs": count, "prepare_s": round(prepared, 1)}
    with ours(workdir, data_dir) as server, on_cpus(CLIENT_CPUS):
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            total = client.get("/api/v1/jobs?limit=1").json()["total"]
            if total != count:
                raise RuntimeError(f"the server sees {total} jobs, not {count}")
            for name, url in queries.items():
                results[name] = _measure(client, url, requests)
                log(
                    f"scale: {name}: p50 {results[name]['p50_ms']} ms, "
                    f"p99 {results[name]['p99_ms']} ms"
                )
    return results
