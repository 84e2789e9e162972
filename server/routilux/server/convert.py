"""Engine records to wire models, and straight to JSON bytes on the hot paths.

The ``*_json`` functions give exactly the bytes that FastAPI would send for the wire model (a
test compares them), without building and validating the model first: reads of jobs and flows
are the busiest requests, and that work was most of their cost.
"""

from __future__ import annotations

import hashlib

from routilux.engine import models as m
from routilux.engine.events import Event as EngineEvent
from routilux.jsonutil import dumps
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
    flow = to_flow(record)
    try:
        content: object = flow.model_dump(mode="json")
    except (ValueError, TypeError, RecursionError):  # beyond pydantic: the model's fields
        content = flow
    return f'"{hashlib.sha256(dumps(content)).hexdigest()[:32]}"'


def flow_json(record: m.FlowRecord) -> bytes:
    """The flow as the ``Flow`` wire model's JSON, whatever its document holds (one stored by an
    older server may hold what no longer passes: it still reads)."""
    return dumps(to_flow(record))


def to_job(job: m.Job) -> Job:
    return Job.model_validate(job, from_attributes=True)


def job_json(job: m.Job) -> bytes:
    """The job as the ``Job`` wire model's JSON (its field order, RFC 3339 UTC datetimes).

    The nested records (error, paused_at, progress) are dataclasses with the same fields, in the
    same order, as their wire models, and :func:`~routilux.jsonutil.dumps` writes them as such,
    whatever the payloads hold.
    """
    document = {
        "job_id": job.job_id,
        "flow_id": job.flow_id,
        "worker_id": job.worker_id,
        "status": job.status,
        "input": job.input,
        "entry": job.entry,
        "metadata": job.metadata,
        "output": job.output,
        "error": job.error,
        "paused_at": job.paused_at,
        "progress": job.progress,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "flow_revision": job.flow_revision,
        "recoveries": job.recoveries,
        "replica_id": job.replica_id,
    }
    return dumps(document)


def page_json(items: list[bytes], next_cursor: str | None, total: int) -> bytes:
    """A list page (``PageBase`` fields, then ``items``) around items already encoded."""
    head = dumps({"next_cursor": next_cursor, "total": total})
    return b"".join((head[:-1], b',"items":[', b",".join(items), b"]}"))


class FlowDocuments:
    """Each flow's JSON body and ETag, made once per record: a stored flow never changes (a
    flow deleted and created again under its id is a new record)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[m.FlowRecord, bytes, str]] = {}

    def _entry(self, record: m.FlowRecord) -> tuple[m.FlowRecord, bytes, str]:
        entry = self._cache.get(record.flow_id)
        if entry is None or entry[0] is not record:
            entry = (record, flow_json(record), etag(record))
            self._cache[record.flow_id] = entry
        return entry

    def forget(self, flow_id: str) -> None:
        """Drop a deleted flow's entry."""
        self._cache.pop(flow_id, None)

    def body(self, record: m.FlowRecord) -> bytes:
        return self._entry(record)[1]

    def etag(self, record: m.FlowRecord) -> str:
        return self._entry(record)[2]


def to_worker(worker: m.Worker) -> Worker:
    return Worker.model_validate(worker, from_attributes=True)


def worker_json(worker: m.Worker) -> bytes:
    """The worker as the ``Worker`` wire model's JSON (its field order)."""
    return dumps(
        {
            "worker_id": worker.worker_id,
            "flow_id": worker.flow_id,
            "status": worker.status,
            "concurrency": worker.concurrency,
            "active_jobs": worker.active_jobs,
            "queued_jobs": worker.queued_jobs,
            "jobs_processed": worker.jobs_processed,
            "jobs_failed": worker.jobs_failed,
            "created_at": worker.created_at,
        }
    )


def to_breakpoint(bp: m.Breakpoint) -> Breakpoint:
    return Breakpoint.model_validate(bp, from_attributes=True)


def to_event(event: EngineEvent) -> Event:
    return Event.model_validate(event, from_attributes=True)


def event_json(event: EngineEvent) -> bytes:
    """The event as the ``Event`` wire model's JSON: the engine's event is a dataclass with the
    wire model's fields, in its order."""
    return dumps(event)


def event_page_json(events: list[EngineEvent], next_after: int | None) -> bytes:
    """An ``EventPage`` (``items``, then ``next_after``) around the events' JSON."""
    items = b",".join(event_json(e) for e in events)
    return b"".join((b'{"items":[', items, b'],"next_after":', dumps(next_after), b"}"))
