"""The store's performance targets, at full size (the figures: ``python -m tests.store.bench``).

* group commit: more than 2,000 job writes/s with 10+ events per job;
* list_jobs on 100,000 jobs, filtered by status: p99 under 30 ms, first page and deep page.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from routilux.engine.models import JobStatus
from routilux.store import SqlStore
from tests.store import bench
from tests.store.conftest import StoreFactory


async def test_group_commit_throughput(store: SqlStore) -> None:
    figures = await bench.write_throughput(store, jobs=2000, events_per_job=20)
    assert figures["job_writes_per_s"] > 2000
    assert (await store.list_jobs(statuses=[JobStatus.COMPLETED])).total == 2000
    assert (await store.load()).last_event_id == 2000 * 20


async def test_list_jobs_latency_on_100k_jobs(open_store: StoreFactory) -> None:
    store = await open_store(sqlite_synchronous="NORMAL")  # only to fill it faster
    await bench.fill(store, 100_000)
    assert (await store.list_jobs(limit=1)).total == 100_000
    if store.url.get_backend_name() == "postgresql":
        _vacuum(store)
    cases = ("status first page", "status deep page")
    figures = await bench.read_latency(store, runs=200, only=cases)
    for case in cases:
        _, p99 = figures[case]
        assert p99 < 30, f"{case}: p99 {p99:.1f} ms"


def _vacuum(store: SqlStore) -> None:
    """What autovacuum does soon after a bulk load; until then PostgreSQL counts from the heap."""
    url = store.url.render_as_string(hide_password=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE jobs"))
    finally:
        engine.dispose()
