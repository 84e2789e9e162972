"""A worker's queue bound counted by the store, over every process writing to the database:
a new job is refused (nothing of it written) once its worker has that many queued jobs."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from routilux.engine.errors import QueueFull
from routilux.engine.models import JobStatus
from routilux.engine.storage import Idempotency
from routilux.store import SqlStore
from tests.store.conftest import make_job


async def outcomes(
    store: SqlStore, first: int, count: int, bound: int, worker_id: str = "wrk-a"
) -> list[bool]:
    """Insert ``count`` jobs at once (one group commit or a few); which were accepted."""
    results = await asyncio.gather(
        *(
            store.insert_job(make_job(n, worker_id=worker_id), queue_bound=bound)
            for n in range(first, first + count)
        ),
        return_exceptions=True,
    )
    for result in results:
        assert result is None or isinstance(result, QueueFull), result
    return [result is None for result in results]


async def test_a_full_queue_refuses_the_job_and_writes_nothing_of_it(store: SqlStore) -> None:
    for n in range(3):
        await store.insert_job(make_job(n), queue_bound=3)
    with pytest.raises(QueueFull, match="'wrk-a' has 3 queued jobs in the deployment"):
        await store.insert_job(make_job(3), Idempotency("key-3", "fp"), queue_bound=3)
    assert await store.get_job("job_000003") is None
    assert await store.find_idempotency("key-3", "default") is None
    # Another worker's queue is its own; jobs no longer queued do not count.
    await store.insert_job(make_job(4, worker_id="wrk-b"), queue_bound=3)
    running = make_job(0, status=JobStatus.RUNNING)
    await store.save_job(running)
    await store.insert_job(make_job(5), queue_bound=3)
    assert (await store.list_jobs()).total == 5


async def test_jobs_inserted_together_fill_the_queue_exactly(store: SqlStore) -> None:
    accepted = await outcomes(store, 0, 12, bound=5)
    assert sum(accepted) == 5
    queued = await store.list_jobs(statuses=[JobStatus.QUEUED], limit=100)
    assert queued.total == 5


async def test_two_processes_share_one_bound(pg_database: str) -> None:
    """Two stores on one PostgreSQL database (two processes' writers), inserting at once."""
    first, second = SqlStore(pg_database), SqlStore(pg_database)
    async with contextlib.AsyncExitStack() as stores:
        for store in (first, second):
            await store.open()
            stores.push_async_callback(store.close)
        await race(first, second)


async def race(first: SqlStore, second: SqlStore) -> None:
    for round in range(5):  # a worker each: both writers race for its last places
        worker_id = f"wrk-{round}"
        results = await asyncio.gather(
            outcomes(first, round * 100, 20, bound=10, worker_id=worker_id),
            outcomes(second, round * 100 + 50, 20, bound=10, worker_id=worker_id),
        )
        assert sum(results[0]) + sum(results[1]) == 10
        queued = await first.list_jobs(worker_id=worker_id, statuses=[JobStatus.QUEUED])
        assert queued.total == 10
