"""Engine records to wire models."""

from __future__ import annotations

import hashlib

from routilux.engine import models as m
from routilux.engine.events import Event as EngineEvent
from routilux.server.jsonio import dumps
from routilux.server.schemas.breakpoints import Breakpoint
from routilux.server.schemas.events import Event
from routilux.server.schemas.flows import Flow
from routilux.server.schemas.jobs import Job
from routilux.server.schemas.workers import Worker


def to_flow(record: m.FlowRecord) -> Flow:
    document = record.spec.model_dump(by_alias=True)
    return Flow.model_validate(
        {
            **document,
            "flow_id": record.flow_id,
            "revision": record.revision,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }
    )


def etag(record: m.FlowRecord) -> str:
    """A strong ETag over the flow's content and identity."""
    digest = hashlib.sha256(dumps(to_flow(record).model_dump(mode="json"))).hexdigest()
    return f'"{digest[:32]}"'


def to_job(job: m.Job) -> Job:
    return Job.model_validate(job, from_attributes=True)


def to_worker(worker: m.Worker) -> Worker:
    return Worker.model_validate(worker, from_attributes=True)


def to_breakpoint(bp: m.Breakpoint) -> Breakpoint:
    return Breakpoint.model_validate(bp, from_attributes=True)


def to_event(event: EngineEvent) -> Event:
    return Event.model_validate(event, from_attributes=True)
