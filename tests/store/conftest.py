"""Fixtures: every store test runs on a real SQLite file under ``tmp_path`` and on a fresh database
of the session's throwaway PostgreSQL (tests/pg.py); stores are closed after each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine

from routilux.engine import Runtime, RuntimeSettings
from routilux.engine.events import Event, EventType
from routilux.engine.models import Job, JobStatus
from routilux.routines import default_registry
from routilux.store import SqlStore
from routilux.store.retention import Retention
from tests.pg import DATABASES, database_url

StoreFactory = Callable[..., Awaitable[SqlStore]]
Replica = tuple[Runtime, SqlStore, list[Event]]
"""A replica of ``replicas``: its runtime, its store, the events it published."""

REPLICA_HEARTBEAT = 0.1
REPLICA_LEASE = 1.5

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # SQLite: a directory that does not exist yet, so open() must create it.
    yield from database_url(request, tmp_path / "data" / "routilux.db")


@pytest.fixture
async def open_store(db_url: str) -> AsyncIterator[StoreFactory]:
    """Open stores on the test's database (or another URL); all are closed at teardown."""
    opened: list[SqlStore] = []

    async def factory(url: str | None = None, **options: Any) -> SqlStore:
        # These tests give events and log lines their ids, to check the SQL around them; the
        # numbering a deployment's processes do as they commit is tested on its own
        # (test_replicas.py, test_event_stream.py).
        options.setdefault("numbered", False)
        # And they fence every store's writes, as processes sharing a database do (a process
        # alone on SQLite skips it: it owns every job it writes about), to check that SQL too.
        options.setdefault("fenced", True)
        store = SqlStore(url or db_url, **options)
        opened.append(store)
        await store.open()
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
async def replicas(pg_database: str) -> AsyncIterator[Callable[..., Awaitable[Replica]]]:
    """Start replicas (a store and a runtime each, with the events each publishes) on one
    PostgreSQL database, with a 0.1 s heartbeat and a 1.5 s lease unless other runtime settings
    are given; all are shut down at the end."""
    started: list[Replica] = []

    async def start(**settings: Any) -> Replica:
        store = SqlStore(pg_database)
        await store.open()
        settings = {
            "replica_heartbeat_seconds": REPLICA_HEARTBEAT,
            "replica_lease_seconds": REPLICA_LEASE,
            **settings,
        }
        runtime = Runtime(default_registry(), store, RuntimeSettings(**settings))
        published: list[Event] = []
        try:
            await runtime.start()
        except BaseException:
            await store.close()
            raise
        runtime.bus.add_sink(published.append)
        started.append((runtime, store, published))
        return runtime, store, published

    yield start
    for runtime, store, _ in started:
        try:
            await runtime.shutdown()
        finally:
            await store.close()


@pytest.fixture
async def store(open_store: StoreFactory) -> SqlStore:
    return await open_store()


def make_job(
    n: int,
    *,
    status: JobStatus = JobStatus.QUEUED,
    flow_id: str = "flow-a",
    worker_id: str = "wrk-a",
    created_at: datetime | None = None,
) -> Job:
    return Job(
        job_id=f"job_{n:06d}",
        flow_id=flow_id,
        worker_id=worker_id,
        status=status,
        input={"n": n},
        created_at=created_at or BASE + timedelta(seconds=n),
    )


def make_event(
    event_id: int,
    *,
    job_id: str | None = None,
    flow_id: str | None = "flow-a",
    type: EventType = EventType.ROUTINE_COMPLETED,
) -> Event:
    return Event(
        id=event_id,
        type=type,
        timestamp=BASE + timedelta(milliseconds=event_id),
        flow_id=flow_id,
        job_id=job_id,
        data={"i": event_id},
    )


@contextmanager
def pruned(db_url: str, retention: Retention) -> Iterator[tuple[Connection, int]]:
    """A connection to the database once ``retention`` has pruned all it can, pass after pass,
    and the number of passes that took (the last one finding nothing left)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            retention.open(conn)
            passes = 1
            while retention.prune(conn):
                passes += 1
            yield conn, passes
    finally:
        engine.dispose()
