"""The hot routes write JSON without building wire models: the bytes must be the models' own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from routilux.engine import models as m
from routilux.engine.events import Event, EventType
from routilux.engine.spec import FlowSpec
from routilux.jsonutil import dumps
from routilux.server.convert import (
    FlowDocuments,
    etag,
    event_json,
    job_json,
    page_json,
    to_event,
    to_flow,
    to_job,
)
from routilux.server.schemas.events import Event as WireEvent
from routilux.server.schemas.flows import FlowPage
from routilux.server.schemas.jobs import JobError, JobPage, PausedAt, RoutineProgress

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def model_json(model: BaseModel) -> bytes:
    """What FastAPI sends for a route returning ``model`` (the default response class)."""
    return dumps(model.model_dump(mode="json", by_alias=True))


def jobs() -> list[m.Job]:
    progress = {
        "a": m.RoutineProgress(m.RoutineStatus.COMPLETED, 2, 2, 0, 1, 2),
        "b": m.RoutineProgress(m.RoutineStatus.FAILED, 1, 0, 1, 0, 0, "ValueError: no"),
    }
    return [
        m.Job("job_1", "flow", "wrk", m.JobStatus.QUEUED, {}, T0),
        m.Job(
            "job_2",
            "flow",
            "wrk",
            m.JobStatus.COMPLETED,
            {"text": "héllo ☃", "n": 1.5, "deep": {"list": [1, None, True, {"x": "y"}]}},
            T0,
            entry="a.input",
            metadata={"source": "test"},
            output={"b.output": [{"v": 1}, {"v": 2.25}]},
            progress=progress,
            started_at=T0 + timedelta(microseconds=1),
            finished_at=T0.replace(microsecond=0),  # no fraction: written without one
        ),
        m.Job(
            "job_3",
            "flow",
            "wrk",
            m.JobStatus.FAILED,
            {"big": 2**70, "float": 1e300},  # beyond 64 bits: the model's own path
            T0,
            error=m.JobError("routine_failed", "ValueError", "no", "b"),
            progress=progress,
        ),
        m.Job(
            "job_4",
            "flow",
            "wrk",
            m.JobStatus.PAUSED,
            {"v": -1},
            T0.astimezone(UTC),
            paused_at=m.PausedAt("bp_1", "a", "input", {"v": -1}),
            started_at=T0,
        ),
    ]


@pytest.mark.parametrize("job", jobs(), ids=lambda job: job.job_id)
def test_job_json_is_the_job_model_json(job: m.Job) -> None:
    assert job_json(job) == model_json(to_job(job))


@pytest.mark.parametrize(
    ("record", "wire"),
    [
        (m.JobError, JobError),
        (m.PausedAt, PausedAt),
        (m.RoutineProgress, RoutineProgress),
        (Event, WireEvent),
    ],
)
def test_nested_records_have_the_wire_fields_in_order(record: Any, wire: type[BaseModel]) -> None:
    # orjson writes these dataclasses as they are: their fields must be the wire model's.
    assert [f.name for f in dataclasses.fields(record)] == list(wire.model_fields)


def test_a_page_of_jobs_is_the_page_model_json() -> None:
    items = jobs()
    expected = JobPage(items=[to_job(j) for j in items], next_cursor="abc", total=99)
    assert page_json([job_json(j) for j in items], "abc", 99) == model_json(expected)
    empty = JobPage(items=[], next_cursor=None, total=0)
    assert page_json([], None, 0) == model_json(empty)


def flow(flow_id: str) -> m.FlowRecord:
    spec = FlowSpec.model_validate(
        {
            "flow_id": flow_id,
            "name": "Flow ☃",
            "routines": {
                "shape": {"class": "Mapper", "config": {"mappings": {"name": "user.name"}}},
                "keep": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
            },
            "connections": [{"from": "shape.output", "to": "keep.input"}],
            "execution": {"timeout": 60},
        }
    )
    return m.FlowRecord(flow_id, spec, 1, T0, T0)


def test_flow_documents_are_the_flow_model_json_and_etag() -> None:
    documents = FlowDocuments()
    records = [flow("one"), flow("two")]
    for record in records:
        assert documents.body(record) == model_json(to_flow(record))
        assert documents.etag(record) == etag(record)
    page = FlowPage(items=[to_flow(r) for r in records], next_cursor=None, total=2)
    assert page_json([documents.body(r) for r in records], None, 2) == model_json(page)


def test_a_flow_created_again_under_its_id_is_encoded_again() -> None:
    documents = FlowDocuments()
    first = flow("same")
    documents.body(first)
    second = dataclasses.replace(first, updated_at=T0 + timedelta(seconds=1))
    assert documents.body(second) == model_json(to_flow(second))
    assert documents.etag(second) != documents.etag(first)
    documents.forget("same")
    assert documents.body(first) == model_json(to_flow(first))


@pytest.mark.parametrize(
    "event",
    [
        Event(1, EventType.FLOW_CREATED, T0, flow_id="flow"),
        Event(
            2,
            EventType.EVENT_EMITTED,
            T0.replace(microsecond=0),
            "f",
            "j",
            "w",
            "r",
            {"event": "output", "payload": {"text": "héllo ☃", "n": [1, 2.5, None]}},
        ),
        Event(3, EventType.JOB_FAILED, T0, "f", "j", "w", None, {"big": 2**70}),
    ],
    ids=lambda event: str(event.id),
)
def test_event_json_is_the_event_model_json(event: Event) -> None:
    assert event_json(event) == model_json(to_event(event))
