"""The replicas table on SQLite and PostgreSQL: joining, heartbeats, marking lost (once),
claiming the jobs of replicas that are gone, fencing what a former owner writes, and blocks of
event ids."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import create_engine, select

from routilux.engine.checkpoint import Checkpoint, Delivery
from routilux.engine.clock import utcnow
from routilux.engine.events import EventType
from routilux.engine.models import JobStatus
from routilux.engine.replicas import Replica, ReplicaStatus, this_process
from routilux.store import SqlStore, tables
from tests.store.conftest import StoreFactory, make_event, make_job
from tests.store.test_job_logs_store import line


def replica(name: str) -> Replica:
    return replace(this_process(), replica_id=name, host="elsewhere")


def step(job_id: str, seq: int, owner: str | None) -> Checkpoint:
    delivery = Delivery(seq, "r", "input", {"seq": seq}, 0.0)
    return Checkpoint(job_id, seq, {}, added=[delivery], owner=owner)


def deliveries(url: str, job_id: str) -> list[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            table = tables.job_deliveries
            stmt = select(table.c.seq).where(table.c.job_id == job_id).order_by(table.c.seq)
            return list(conn.execute(stmt).scalars())
    finally:
        engine.dispose()


async def test_replicas_join_heartbeat_and_are_marked_lost_once(store: SqlStore) -> None:
    replicas = store.replicas
    a, b = replica("rep_a"), replica("rep_b")
    await replicas.join(a)
    await replicas.join(b)
    assert await replicas.heartbeat("rep_a", utcnow())
    assert not await replicas.heartbeat("rep_unknown", utcnow())

    long_ago = utcnow() - timedelta(minutes=5)
    assert await replicas.mark_lost(long_ago, []) == []  # both heartbeats are recent
    marked = await replicas.mark_lost(long_ago, ["rep_a"])
    assert [r.replica_id for r in marked] == ["rep_a"]
    assert marked[0].status is ReplicaStatus.LOST
    assert await replicas.mark_lost(long_ago, ["rep_a"]) == []  # marked once, by one caller
    assert not await replicas.heartbeat("rep_a", utcnow())  # it learns it was lost

    await replicas.leave("rep_b", utcnow())
    statuses = {r.replica_id: r.status for r in await replicas.list_replicas()}
    assert statuses == {"rep_a": ReplicaStatus.LOST, "rep_b": ReplicaStatus.STOPPED}


async def test_unfinished_jobs_of_replicas_gone_are_claimed_once(store: SqlStore) -> None:
    replicas = store.replicas
    await replicas.join(replica("rep_a"))
    await replicas.join(replica("rep_b"))
    held = replace(make_job(1, status=JobStatus.RUNNING), owner="rep_a")
    queued = replace(make_job(2), owner="rep_a")
    unowned = make_job(3, status=JobStatus.PAUSED)  # from a server older than replicas
    done = replace(make_job(4, status=JobStatus.COMPLETED), owner="rep_gone")
    for job in (held, queued, unowned, done):
        await store.insert_job(job)

    claimed = await replicas.claim_jobs("rep_b")
    assert [j.job_id for j in claimed] == [unowned.job_id]  # rep_a is alive
    assert claimed[0].owner == "rep_b"

    await replicas.mark_lost(utcnow() - timedelta(minutes=5), ["rep_a"])
    claimed = await replicas.claim_jobs("rep_b")
    assert sorted(j.job_id for j in claimed) == [held.job_id, queued.job_id]
    assert {j.owner for j in claimed} == {"rep_b"}
    assert await replicas.claim_jobs("rep_b") == []
    listed = {r.replica_id: r.jobs_held for r in await replicas.list_replicas()}
    assert listed == {"rep_a": 0, "rep_b": 3}


async def test_a_flows_unfinished_jobs_are_counted_on_every_replica(store: SqlStore) -> None:
    jobs = [
        replace(make_job(1, status=JobStatus.RUNNING), owner="rep_a"),
        replace(make_job(2), owner="rep_b"),  # queued
        make_job(3, status=JobStatus.CANCELLING),
        make_job(4, status=JobStatus.COMPLETED),
        make_job(5, status=JobStatus.FAILED),
        make_job(6, status=JobStatus.RUNNING, flow_id="flow-b"),
    ]
    for job in jobs:
        await store.insert_job(job)
    assert await store.replicas.unfinished_jobs_of("flow-a") == 3
    assert await store.replicas.unfinished_jobs_of("flow-b") == 1
    assert await store.replicas.unfinished_jobs_of("flow-c") == 0


async def test_a_former_owners_writes_are_fenced_off(store: SqlStore, db_url: str) -> None:
    replicas = store.replicas
    await replicas.join(replica("rep_a"))
    await replicas.join(replica("rep_b"))
    job = replace(make_job(1, status=JobStatus.RUNNING), owner="rep_a")
    await store.insert_job(job)
    store.checkpoint_later(step(job.job_id, 1, "rep_a"))
    await store.flush()
    assert deliveries(db_url, job.job_id) == [1]

    await replicas.mark_lost(utcnow() - timedelta(minutes=5), ["rep_a"])
    (claimed,) = await replicas.claim_jobs("rep_b")

    # rep_a, still running, writes on: its checkpoint and its final state are dropped.
    store.checkpoint_later(step(job.job_id, 2, "rep_a"))
    failed = make_event(2, job_id=job.job_id, type=EventType.JOB_FAILED)
    await store.save_job(replace(job, status=JobStatus.FAILED, finished_at=utcnow()), failed)
    stored = await store.get_job(job.job_id)
    assert stored is not None
    assert (stored.owner, stored.status) == ("rep_b", JobStatus.RUNNING)
    assert deliveries(db_url, job.job_id) == [1]
    assert await store.list_job_events(job.job_id) == []  # nor is its end announced

    # The new owner's writes go through, and its completion drops the checkpoint.
    store.checkpoint_later(step(job.job_id, 3, "rep_b"))
    await store.flush()
    assert deliveries(db_url, job.job_id) == [1, 3]
    completed = make_event(3, job_id=job.job_id, type=EventType.JOB_COMPLETED)
    await store.save_job(
        replace(claimed, status=JobStatus.COMPLETED, finished_at=utcnow()), completed
    )
    stored = await store.get_job(job.job_id)
    assert stored is not None
    assert (stored.owner, stored.status) == ("rep_b", JobStatus.COMPLETED)
    assert deliveries(db_url, job.job_id) == []
    # The end and its event are committed together (one durable write).
    assert [e.type for e in await store.list_job_events(job.job_id)] == [EventType.JOB_COMPLETED]


async def test_a_failed_job_is_taken_for_a_retry_by_one_replica(store: SqlStore) -> None:
    failed = replace(make_job(1, status=JobStatus.FAILED), owner="rep_a")
    await store.insert_job(failed)
    assert await store.replicas.take_job(failed.job_id, "rep_b")
    assert not await store.replicas.take_job(failed.job_id, "rep_c")
    stored = await store.get_job(failed.job_id)
    assert stored is not None
    assert (stored.owner, stored.status) == ("rep_b", JobStatus.QUEUED)


async def test_old_stopped_and_lost_replicas_are_forgotten(store: SqlStore) -> None:
    old = replace(replica("rep_old"), heartbeat_at=utcnow() - timedelta(days=2))
    await store.replicas.join(old)
    await store.replicas.join(replica("rep_new"))
    marked = await store.replicas.mark_lost(utcnow() - timedelta(minutes=5), [])
    assert [r.replica_id for r in marked] == ["rep_old"]  # reported lost, and forgotten
    assert [r.replica_id for r in await store.replicas.list_replicas()] == ["rep_new"]


async def test_processes_sharing_a_database_number_events_and_logs_as_they_commit(
    open_store: StoreFactory, db_url: str
) -> None:
    first = await open_store(numbered=None)
    if "postgresql" not in db_url:  # SQLite: one process, whose ids are stored as given
        assert first.replicas.exclusive
        first.save_event_later(make_event(7))
        await first.flush()
        assert [e.id for e in await first.list_events(after=0)] == [7]
        return
    second = await open_store(numbered=None)
    assert not second.replicas.exclusive
    before = time.time_ns() // 1000
    for n in range(1, 6):  # the same ids given by both: each process counts by itself
        for store in (first, second, second):
            store.save_event_later(make_event(n, job_id=f"job_{n}"))
            await store.flush()
    first.save_log_later(line(1, job_id="job_1"))
    await first.flush()
    stored = await second.list_events(after=0, limit=100)
    ids = [e.id for e in stored]
    assert len(ids) == 15 and len(set(ids)) == 15
    assert ids == sorted(ids) and ids[0] >= before  # in commit order, after the clock
    assert [e.data["i"] for e in stored] == [n for n in range(1, 6) for _ in range(3)]
    (logged,) = await second.list_job_logs("job_1")
    assert logged.id > ids[-1]
