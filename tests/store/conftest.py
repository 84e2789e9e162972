"""Fixtures: real SQLite files under ``tmp_path``, closed after each test.

With ``ROUTILUX_TEST_POSTGRES_URL`` set (e.g. ``postgresql+psycopg://postgres@127.0.0.1/postgres``)
every store test also runs on PostgreSQL, each in a database of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from routilux.engine.events import Event, EventType
from routilux.engine.models import Job, JobStatus
from routilux.store import SqlStore

StoreFactory = Callable[..., Awaitable[SqlStore]]

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


POSTGRES_URL = os.environ.get("ROUTILUX_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        # A directory that does not exist yet: open() must create it.
        yield f"sqlite:///{tmp_path / 'data' / 'routilux.db'}"
        return
    assert POSTGRES_URL is not None
    name = f"routilux_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
async def open_store(db_url: str) -> AsyncIterator[StoreFactory]:
    """Open stores on the test's database (or another URL); all are closed at teardown."""
    opened: list[SqlStore] = []

    async def factory(url: str | None = None, **options: Any) -> SqlStore:
        store = SqlStore(url or db_url, **options)
        opened.append(store)
        await store.open()
        return store

    yield factory
    for store in opened:
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
