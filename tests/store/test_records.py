"""Every record survives the trip to the database and back exactly, with aware UTC times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from routilux.engine.events import Event, EventType
from routilux.engine.models import (
    Breakpoint,
    FlowRecord,
    Job,
    JobError,
    JobStatus,
    PausedAt,
    RoutineProgress,
    RoutineStatus,
    Worker,
    WorkerStatus,
)
from routilux.engine.spec import FlowSpec
from routilux.store import SqlStore, codec
from tests.store.conftest import BASE

PLUS_TWO = timezone(timedelta(hours=2))


def full_job() -> Job:
    return Job(
        job_id="job_full",
        flow_id="flow-a",
        worker_id="wrk-a",
        status=JobStatus.PAUSED,
        input={"text": "héllo ☃", "nested": {"list": [1, 2.5, None, True]}, "big": 2**70 + 1},
        entry="extract.input",
        metadata={"tenant": "t1", "tags": ["a", "b"]},
        output={"keep.output": [{"x": 1}, {"x": 2}]},
        error=JobError(code="routine_failed", type="ValueError", message="bad", routine_id="r"),
        paused_at=PausedAt(breakpoint_id="bp_1", routine_id="keep", slot="input", payload={"y": 3}),
        progress={
            "extract": RoutineProgress(RoutineStatus.COMPLETED, 2, 2, 0, 1, 2, None),
            "keep": RoutineProgress(RoutineStatus.ERROR_CONTINUED, 3, 1, 2, 0, 0, "boom"),
        },
        # Not UTC on purpose: it comes back as the same instant, in UTC.
        created_at=datetime(2025, 3, 1, 14, 0, 0, 123456, tzinfo=PLUS_TWO),
        started_at=BASE + timedelta(seconds=1),
        finished_at=BASE + timedelta(seconds=2),
    )


def flow_spec() -> FlowSpec:
    return FlowSpec.model_validate(
        {
            "flow_id": "flow-a",
            "name": "ETL",
            "routines": {
                "extract": {"class": "Mapper", "config": {"mappings": {"name": "user.name"}}},
                "keep": {
                    "class": "Filter",
                    "config": {"condition": "x > 1"},
                    "error_handler": {"strategy": "retry", "max_retries": 2},
                },
            },
            "connections": [{"from": "extract.output", "to": "keep.input"}],
            "entry": "extract.input",
            "execution": {"timeout": 30, "concurrency": 4},
        }
    )


def assert_utc(*values: datetime | None) -> None:
    for value in values:
        assert value is None or value.tzinfo is UTC


def test_codec_job_round_trip() -> None:
    job = full_job()
    row: dict[str, Any] = codec.job_row(job)
    decoded = {k: json.loads(v) if isinstance(v, codec.RawJson) else v for k, v in row.items()}
    assert codec.job_from_row(decoded) == job


def test_codec_snapshots_the_job() -> None:
    """The row is taken when queued: later changes by the engine do not leak into it."""
    job = full_job()
    row = codec.job_row(job)
    job.output["keep.output"].append({"x": 3})
    job.progress["keep"].completed = 99
    assert json.loads(row["output"]) == {"keep.output": [{"x": 1}, {"x": 2}]}
    assert json.loads(row["progress"])["keep"]["completed"] == 1


async def test_job_round_trip(store: SqlStore) -> None:
    job = full_job()
    await store.insert_job(job)
    loaded = await store.get_job(job.job_id)
    assert loaded == job
    assert loaded is not None
    assert_utc(loaded.created_at, loaded.started_at, loaded.finished_at)
    assert loaded.progress["keep"].status is RoutineStatus.ERROR_CONTINUED


async def test_minimal_job_round_trip(store: SqlStore) -> None:
    job = Job("job_min", "f", "w", JobStatus.QUEUED, {}, BASE)
    await store.insert_job(job)
    assert await store.get_job("job_min") == job
    assert await store.get_job("job_missing") is None


async def test_flow_worker_breakpoint_round_trip(store: SqlStore) -> None:
    flow = FlowRecord("flow-a", flow_spec(), 3, BASE, BASE + timedelta(minutes=1))
    worker = Worker(
        worker_id="wrk-a",
        flow_id="flow-a",
        status=WorkerStatus.PAUSED,
        concurrency=4,
        created_at=BASE,
        active_jobs=1,
        queued_jobs=2,
        jobs_processed=2**40,
        jobs_failed=5,
    )
    bp = Breakpoint(
        breakpoint_id="bp_1",
        flow_id="flow-a",
        routine_id="keep",
        created_at=BASE,
        slot="input",
        job_id="job_1",
        condition="x > 1",
        enabled=False,
        hit_count=7,
        waiting_jobs=["job_1"],
    )
    bare_bp = Breakpoint("bp_2", "flow-a", "extract", BASE)
    await store.save_flow(flow)
    await store.save_breakpoint(bp)
    await store.save_breakpoint(bare_bp)
    store.save_worker_later(worker)
    await store.flush()

    state = await store.load()
    assert state.flows == [flow]
    assert state.flows[0].spec.routines["keep"].class_ == "Filter"
    assert state.workers == [worker]
    # waiting_jobs is live runtime state and is not stored.
    by_id = {b.breakpoint_id: b for b in state.breakpoints}
    assert by_id == {"bp_1": Breakpoint(**{**bp.__dict__, "waiting_jobs": []}), "bp_2": bare_bp}
    assert_utc(state.flows[0].created_at, state.flows[0].updated_at, state.workers[0].created_at)


async def test_updates_and_deletes(store: SqlStore) -> None:
    flow = FlowRecord("flow-a", flow_spec(), 1, BASE, BASE)
    await store.save_flow(flow)
    flow.revision = 2
    await store.save_flow(flow)
    await store.save_breakpoint(Breakpoint("bp_1", "flow-a", "keep", BASE))
    assert [f.revision for f in (await store.load()).flows] == [2]
    await store.delete_breakpoint("bp_1")
    await store.delete_flow("flow-a")
    await store.delete_flow("never-existed")
    state = await store.load()
    assert state.flows == [] and state.breakpoints == []


async def test_event_round_trip(store: SqlStore) -> None:
    event = Event(
        id=7,
        type=EventType.BREAKPOINT_HIT,
        timestamp=datetime(2025, 3, 1, 14, 0, tzinfo=PLUS_TWO),
        flow_id="flow-a",
        job_id="job_1",
        worker_id="wrk-a",
        routine_id="keep",
        data={"payload": {"x": [1, "two"]}, "ok": True},
    )
    bare = Event(id=8, type=EventType.FLOW_DELETED, timestamp=BASE)
    store.save_event_later(event)
    store.save_event_later(bare)
    await store.flush()
    assert await store.list_job_events("job_1") == [event]
    assert await store.list_events(after=0) == [event, bare]
    loaded = (await store.list_events(after=0))[0]
    assert_utc(loaded.timestamp)
    assert loaded.type is EventType.BREAKPOINT_HIT
