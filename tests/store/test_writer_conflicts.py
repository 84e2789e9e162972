"""Processes sharing PostgreSQL lock the same rows (a worker's counters): a batch the database
rolls back to break a deadlock is written again, and the store stays ready; it did not lose the
database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text

from routilux.engine.models import Worker, WorkerStatus
from routilux.store import SqlStore
from tests.poll import wait_until
from tests.store.conftest import BASE

SET_CONCURRENCY = text("UPDATE workers SET concurrency = :n WHERE worker_id = :w")
WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)


def worker(worker_id: str) -> Worker:
    return Worker(
        worker_id=worker_id,
        flow_id="flow-a",
        status=WorkerStatus.RUNNING,
        concurrency=1,
        created_at=BASE,
    )


async def test_a_batch_that_loses_a_deadlock_is_written_again(
    pg_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlStore(pg_database)
    await store.open()
    engine = create_engine(pg_database)
    try:
        first, second = worker("wrk_1"), worker("wrk_2")
        store.save_worker_later(first)
        store.save_worker_later(second)
        await store.flush()
        with engine.connect() as other, engine.connect() as watch:
            # One transaction (begun here); the writer's backend is the one to find the deadlock
            # (after its 1 s), not this one.
            other.execute(text("SET deadlock_timeout = '60s'"))
            other.execute(SET_CONCURRENCY, {"n": 9, "w": "wrk_2"})
            store.save_worker_later(replace(first, concurrency=5))
            store.save_worker_later(replace(second, concurrency=5))
            flushed = asyncio.ensure_future(store.flush())
            # The writer has locked wrk_1 and waits for wrk_2; taking wrk_1 closes the circle.
            wait_until(
                lambda: watch.execute(WAITING_ON_A_LOCK).scalar_one() == 1,
                timeout=10,
                what="the writer waiting for wrk_2",
            )
            with caplog.at_level(logging.INFO, logger="routilux.store"):
                other.execute(SET_CONCURRENCY, {"n": 9, "w": "wrk_1"})
                other.commit()
                await asyncio.wait_for(flushed, timeout=10)
        assert store._writer.connected
        assert "lost a conflict with another process" in caplog.text
        state = await store.load()
        assert {w.worker_id: w.concurrency for w in state.workers} == {"wrk_1": 5, "wrk_2": 5}
    finally:
        engine.dispose()
        await store.close()
