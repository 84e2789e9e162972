"""What retention drops: oldest events first, expired idempotency keys."""

from __future__ import annotations

from sqlalchemy import Table, create_engine, func, select

from routilux.engine.storage import Idempotency
from routilux.store import SqlStore, tables
from routilux.store.retention import Retention
from tests.poll import until
from tests.store.conftest import StoreFactory, make_event, make_job, pruned


async def test_idempotency_keys_expire(open_store: StoreFactory) -> None:
    store = await open_store(idempotency_ttl=0.2)
    await store.insert_job(make_job(1), Idempotency("k", "fp"))
    assert await store.find_idempotency("k", "default") == ("fp", "job_000001")

    async def expired() -> bool:
        return await store.find_idempotency("k", "default") is None

    await until(expired, timeout=5, what="the key expired")
    await store.prune()
    assert await _count(store, tables.idempotency) == 0
    # An expired key may be used again.
    await store.insert_job(make_job(2), Idempotency("k", "fp-new"))
    assert await store.find_idempotency("k", "default") == ("fp-new", "job_000002")


async def test_retention_per_job_and_total(open_store: StoreFactory) -> None:
    store = await open_store(events_per_job=5, events_total=12)
    ids = iter(range(1, 100))
    for _ in range(3):
        store.save_event_later(make_event(next(ids)))  # 1-3: no job
    for _ in range(10):
        store.save_event_later(make_event(next(ids), job_id="job_a"))  # 4-13
    for _ in range(10):
        store.save_event_later(make_event(next(ids), job_id="job_b"))  # 14-23
    await store.prune()
    assert [e.id for e in await store.list_job_events("job_a")] == [9, 10, 11, 12, 13]
    assert [e.id for e in await store.list_job_events("job_b")] == [19, 20, 21, 22, 23]
    # 13 left after the per-job limit; the total limit drops the oldest one.
    remaining = [e.id for e in await store.list_events(after=0)]
    assert remaining == [2, 3, 9, 10, 11, 12, 13, 19, 20, 21, 22, 23]
    assert (await store.load()).last_event_id == 23


async def test_retention_runs_periodically(open_store: StoreFactory) -> None:
    store = await open_store(events_per_job=2, prune_interval=0.05)
    for i in range(1, 11):
        store.save_event_later(make_event(i, job_id="job_a"))
    await store.flush()

    async def pruned() -> bool:
        return len(await store.list_job_events("job_a")) == 2

    await until(pruned, timeout=2, what="the job's events pruned")
    assert [e.id for e in await store.list_job_events("job_a")] == [9, 10]


async def test_retention_catches_up_after_restart(open_store: StoreFactory) -> None:
    """Jobs over the limit when the store opens are pruned too, not only new writers."""
    first = await open_store()
    for i in range(1, 11):
        first.save_event_later(make_event(i, job_id="job_a"))
    await first.close()
    second = await open_store(events_per_job=3)
    await second.prune()
    assert [e.id for e in await second.list_job_events("job_a")] == [8, 9, 10]


async def test_total_pruned_in_chunks(store: SqlStore, db_url: str) -> None:
    for i in range(1, 101):
        store.save_event_later(make_event(i))
    await store.close()
    retention = Retention(events_per_job=100, events_total=10, idempotency_ttl=60, chunk=25)
    with pruned(db_url, retention) as (conn, passes):
        left = conn.execute(select(tables.events.c.id).order_by(tables.events.c.id))
        assert list(left.scalars()) == list(range(91, 101))
    assert passes == 4  # 90 rows in steps of 25


async def _count(store: SqlStore, table: Table) -> int:
    url = store.url.render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()
