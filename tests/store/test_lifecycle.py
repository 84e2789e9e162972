"""Opening, closing, durability, write-behind, load() and ping()."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import cast

import psycopg
import pytest
from sqlalchemy import Connection, literal, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from routilux.engine.errors import StoreUnavailable
from routilux.engine.models import JobStatus
from routilux.store import SqlStore, StoreClosed
from routilux.store.database import DatabaseInUse
from tests.pg import PgServer
from tests.store.conftest import StoreFactory, make_event, make_job

ROOT = Path(__file__).resolve().parents[2]


async def test_open_creates_the_directory(tmp_path: Path, open_store: StoreFactory) -> None:
    await open_store(f"sqlite:///{tmp_path / 'a' / 'b' / 'c.db'}")
    assert (tmp_path / "a" / "b" / "c.db").is_file()


async def test_durable_insert_survives_reopen(db_url: str, open_store: StoreFactory) -> None:
    store = await open_store()
    job = make_job(1)
    await store.insert_job(job)
    await store.close()
    reopened = await open_store()
    assert await reopened.get_job(job.job_id) == job


async def test_write_behind_visible_after_flush(store: SqlStore) -> None:
    job = make_job(1)
    await store.insert_job(job)
    job.status = JobStatus.RUNNING
    store.save_job_later(job)
    for i in range(1, 51):
        store.save_event_later(make_event(i, job_id=job.job_id))
    await store.flush()
    stored = await store.get_job(job.job_id)
    assert stored is not None and stored.status is JobStatus.RUNNING
    assert len(await store.list_job_events(job.job_id, limit=1000)) == 50


async def test_close_commits_write_behind(open_store: StoreFactory) -> None:
    store = await open_store()
    job = make_job(1)
    await store.insert_job(job)
    job.status = JobStatus.COMPLETED
    store.save_job_later(job)
    store.save_event_later(make_event(1, job_id=job.job_id))
    await store.close()
    reopened = await open_store()
    stored = await reopened.get_job(job.job_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert (await reopened.load()).last_event_id == 1


async def test_close_waits_for_the_reads_under_way(open_store: StoreFactory) -> None:
    """A read still running when the store closes finishes, and its connection is closed with
    the rest; one that waited for a reader meanwhile fails without connecting: no connection is
    left to the garbage collector (which warns: an error in this suite)."""
    store = await open_store(readers=1)
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(conn: Connection) -> int:
        loop.call_soon_threadsafe(started.set)
        time.sleep(0.3)
        return int(conn.execute(select(literal(7))).scalar_one())

    read = asyncio.ensure_future(store._read(slow))
    await started.wait()
    waiting = asyncio.ensure_future(store.get_job("job_000001"))
    await asyncio.sleep(0.05)
    await store.close()
    assert read.done() and read.result() == 7
    with pytest.raises(StoreClosed):
        await waiting
    with pytest.raises(StoreClosed):
        await store.get_job("job_000001")
    with pytest.raises(StoreClosed):
        await store.replicas.list_replicas()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.collect()


async def test_writes_of_one_job_coalesce_last_wins(store: SqlStore) -> None:
    job = make_job(1)
    pending = [asyncio.ensure_future(store.insert_job(job))]
    for status in (JobStatus.RUNNING, JobStatus.PAUSED, JobStatus.RUNNING):
        job.status = status
        store.save_job_later(job)
    job.status = JobStatus.COMPLETED
    pending.append(asyncio.ensure_future(store.save_job(job)))
    await asyncio.gather(*pending)
    stored = await store.get_job(job.job_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert (await store.list_jobs()).total == 1


async def test_a_bad_write_fails_only_its_caller(store: SqlStore) -> None:
    bad = make_job(2)
    bad.flow_id = cast(str, None)  # violates NOT NULL
    store.save_event_later(make_event(1, job_id="job_000001"))
    results = await asyncio.gather(
        store.insert_job(make_job(1)),
        store.insert_job(bad),
        store.insert_job(make_job(3)),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert [j.job_id for j in (await store.list_jobs()).items] == ["job_000003", "job_000001"]
    assert len(await store.list_job_events("job_000001")) == 1


async def test_many_concurrent_durable_writes(store: SqlStore) -> None:
    jobs = [make_job(i) for i in range(500)]
    await asyncio.gather(*(store.insert_job(job) for job in jobs))
    page = await store.list_jobs(limit=500)
    # Committed in the order they were queued: newest first is the reverse.
    assert [j.job_id for j in page.items] == [j.job_id for j in reversed(jobs)]


async def test_load_returns_the_newest_event_id(store: SqlStore) -> None:
    for i in range(1, 4):
        store.save_event_later(make_event(i * 10))
    state = await store.load()
    assert state.last_event_id == 30


async def test_empty_load(store: SqlStore) -> None:
    state = await store.load()
    assert (state.flows, state.workers, state.breakpoints) == ([],) * 3
    assert state.last_event_id == 0


async def test_close_is_idempotent_and_final(store: SqlStore) -> None:
    await store.ping()
    await store.close()
    await store.close()
    with pytest.raises(StoreClosed):
        await store.ping()
    with pytest.raises(StoreClosed):
        await store.insert_job(make_job(1))
    with pytest.raises(StoreClosed):
        await store.get_job("job_1")
    store.save_event_later(make_event(1))  # dropped, never raises into the engine
    await store.flush()
    with pytest.raises(StoreClosed):
        await store.open()


async def test_unopened_store_refuses_work(db_url: str) -> None:
    store = SqlStore(db_url)
    with pytest.raises(StoreClosed):
        await store.insert_job(make_job(1))
    await store.close()


async def test_ping_fails_when_unreachable(tmp_path: Path) -> None:
    missing = SqlStore(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(OperationalError):
        await missing.ping()
    await missing.close()

    read_only = SqlStore("sqlite:////proc/routilux-nonexistent/store.db")
    with pytest.raises(OSError):
        await read_only.open()
    with pytest.raises(OperationalError):
        await read_only.ping()
    await read_only.close()


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        SqlStore("sqlite://")


_CHILD = """
import asyncio, sys
from routilux.engine.models import Job, JobStatus
from routilux.engine.clock import utcnow
from routilux.store import SqlStore

async def main() -> None:
    store = SqlStore(sys.argv[1])
    await store.open()
    await store.insert_job(Job("job_kill", "f", "w", JobStatus.QUEUED, {"a": 1}, utcnow()))
    print("committed", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_committed_job_survives_kill(db_url: str, open_store: StoreFactory) -> None:
    """A durable write that returned is on disk even if the process dies right after."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), *sys.path])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, db_url], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout is not None
        line = await asyncio.to_thread(child.stdout.readline)
        assert line.strip() == "committed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    store = await open_store()
    job = await store.get_job("job_kill")
    assert job is not None and job.input == {"a": 1}


async def test_one_process_per_sqlite_file(db_url: str, open_store: StoreFactory) -> None:
    """SQLite serves one process: a second store on the same file is refused while the first is
    open (a flock on ``<database>.lock``), and admitted once it closed. PostgreSQL takes many."""
    first = await open_store()
    if db_url.startswith("sqlite"):
        refused = SqlStore(db_url)
        holder = rf"in use by another process \(pid {os.getpid()}\)"
        with pytest.raises(DatabaseInUse, match=holder):
            await refused.open()
        await refused.close()
        await first.close()
    second = await open_store()
    assert await second.get_job("none") is None


async def test_postgresql_connections_are_pooled_and_bounded(pg_database: str) -> None:
    """Readers share a pool of ``readers`` connections checked before use; the server cancels a
    statement past the timeout, and that is a failed statement, not an unreachable database."""
    store = SqlStore(pg_database, readers=3, statement_timeout_ms=200)
    await store.open()
    try:
        engine = store._read_engine
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._pre_ping
        settings = await store._read(
            lambda conn: conn.exec_driver_sql(
                "SELECT current_setting('statement_timeout'), "
                "current_setting('default_transaction_read_only')"
            ).one()
        )
        assert tuple(settings) == ("200ms", "on")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            await store._read(lambda conn: conn.exec_driver_sql("SELECT pg_sleep(5)").all())
        assert time.monotonic() - started < 3
        await store.ping()  # the pool is fine afterwards
    finally:
        await store.close()


async def test_store_recovers_when_its_connections_are_killed(
    pg_server: PgServer, pg_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL drops every connection of the store (as a restart or a failover does): a
    durable write meanwhile is refused with StoreUnavailable or succeeds, never hangs; what was
    written behind is kept and committed once the writer reconnected, by itself."""
    store = SqlStore(pg_database)
    await store.open()
    try:
        await store.insert_job(make_job(1))
        await store.ping()
        with psycopg.connect(pg_server.conninfo(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (make_url(pg_database).database,),
            )
        job = make_job(1, status=JobStatus.RUNNING)
        store.save_job_later(job)
        store.save_event_later(make_event(1, job_id=job.job_id))
        try:
            async with asyncio.timeout(10):
                await store.insert_job(make_job(2))
        except StoreUnavailable:
            pass  # refused, not acknowledged: the caller retries
        async with asyncio.timeout(10):
            while True:
                try:
                    await store.insert_job(make_job(2))
                    break
                except StoreUnavailable:
                    await asyncio.sleep(0.05)
                except IntegrityError:
                    break  # the first attempt was committed after all
        await store.flush()
        assert await store.get_job(job.job_id) == job
        # (numbered as committed, as on every PostgreSQL server: the event is marked by its data)
        assert [e.data for e in await store.list_job_events(job.job_id)] == [{"i": 1}]
        assert await store.get_job("job_000002") is not None
        await store.ping()
        assert "store writer lost the database" in caplog.text
        assert "store writer connected to the database again" in caplog.text
    finally:
        await store.close()


def test_plain_postgresql_urls_mean_psycopg() -> None:
    for given in ("postgresql://u:p@db:5432/r", "postgres://u:p@db:5432/r"):
        url = SqlStore(given).url
        assert url.drivername == "postgresql+psycopg"
        assert (url.username, url.password, url.host, url.port, url.database) == (
            "u",
            "p",
            "db",
            5432,
            "r",
        )
    with pytest.raises(ValueError, match="psycopg 3"):
        SqlStore("postgresql+psycopg2://u@db/r")
