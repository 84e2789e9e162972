"""Records to table rows and back: the only place that knows how a record is laid out in SQL.

``*_row`` functions turn a record into the dict of column values the writer inserts; JSON columns
are encoded right there, into :class:`RawJson` text. That is deliberate: the engine keeps mutating
a job after ``save_job_later(job)`` returns, so the row must be a snapshot taken on the event loop,
and the writer thread must never walk the engine's live dicts. ``*_from_row`` functions take a row
as read back (JSON columns already decoded, datetimes aware UTC) and rebuild the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from routilux import jsonutil
from routilux.engine.checkpoint import Checkpoint, Delivery, RoutineState, Running
from routilux.engine.events import Event, EventType
from routilux.engine.joblogs import JobLog
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
from routilux.engine.storage import Idempotency

Row = dict[str, Any]
# A row as read back; SQLAlchemy's RowMapping is keyed by name (or column).
RowIn = Mapping[Any, Any]


class RawJson(str):
    """JSON text that is already encoded; :func:`serialize` passes it through untouched."""

    __slots__ = ()


def raw(value: Any) -> RawJson:
    return RawJson(jsonutil.dumps_str(value))


def serialize(value: Any) -> str:
    """The engine-wide ``json_serializer``: pre-encoded text as is, anything else encoded now."""
    return value if type(value) is RawJson else jsonutil.dumps_str(value)


def deserialize(text: str | bytes) -> Any:
    return jsonutil.loads(text)  # integers beyond 64 bits come back exact


# -- jobs ---------------------------------------------------------------------------------------


def job_row(job: Job) -> Row:
    error = job.error
    paused = job.paused_at
    return {
        "job_id": job.job_id,
        "flow_id": job.flow_id,
        "worker_id": job.worker_id,
        "status": job.status.value,
        "entry": job.entry,
        "input": raw(job.input),
        "metadata": raw(job.metadata),
        "output": raw(job.output),
        "progress": raw({rid: _progress_dict(p) for rid, p in job.progress.items()}),
        "error": None
        if error is None
        else raw(
            {
                "code": error.code,
                "type": error.type,
                "message": error.message,
                "routine_id": error.routine_id,
            }
        ),
        "paused_at": None
        if paused is None
        else raw(
            {
                "breakpoint_id": paused.breakpoint_id,
                "routine_id": paused.routine_id,
                "slot": paused.slot,
                "payload": paused.payload,
            }
        ),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "flow_revision": job.flow_revision,
        "recoveries": job.recoveries,
        "owner": job.owner,
    }


def job_from_row(row: RowIn) -> Job:
    error = row["error"]
    paused = row["paused_at"]
    return Job(
        job_id=row["job_id"],
        flow_id=row["flow_id"],
        worker_id=row["worker_id"],
        status=JobStatus(row["status"]),
        input=row["input"],
        entry=row["entry"],
        metadata=row["metadata"],
        output=row["output"],
        error=None if error is None else JobError(**error),
        paused_at=None if paused is None else PausedAt(**paused),
        progress={rid: _progress(p) for rid, p in row["progress"].items()},
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        flow_revision=row["flow_revision"],
        recoveries=row["recoveries"],
        owner=row["owner"],
    )


def checkpoint_rows(checkpoint: Checkpoint) -> Row:
    """A job's step as the rows it writes: taken now, on the loop (see this module)."""
    job_id = checkpoint.job_id
    return {
        "job_id": job_id,
        "job": None if checkpoint.job is None else job_row(checkpoint.job),
        "owner": checkpoint.owner,
        "checkpoint": {
            "job_id": job_id,
            "seq": checkpoint.seq,
            "progress": raw({rid: _progress_dict(p) for rid, p in checkpoint.progress.items()}),
        },
        "added": [
            {
                "job_id": job_id,
                "seq": d.seq,
                "routine_id": d.routine_id,
                "slot": d.slot,
                "payload": raw(d.payload),
                "at": d.at,
            }
            for d in checkpoint.added
        ],
        "taken": checkpoint.taken,
        "states": [
            {
                "job_id": job_id,
                "routine_id": s.routine_id,
                "state": raw(s.state),
                "deadline": s.deadline,
                "running": raw({str(seq): [r.started, r.attempt] for seq, r in s.running.items()}),
            }
            for s in checkpoint.states
        ],
    }


def delivery_from_row(row: RowIn) -> Delivery:
    return Delivery(row["seq"], row["routine_id"], row["slot"], row["payload"], row["at"])


def routine_state_from_row(row: RowIn) -> RoutineState:
    running = {
        int(seq): Running(started, attempt) for seq, (started, attempt) in row["running"].items()
    }
    return RoutineState(row["routine_id"], row["state"], row["deadline"], running)


def progress_from_json(progress: Mapping[str, Any]) -> dict[str, RoutineProgress]:
    return {rid: _progress(p) for rid, p in progress.items()}


def _progress_dict(p: RoutineProgress) -> dict[str, Any]:
    return {
        "status": p.status.value,
        "activations": p.activations,
        "completed": p.completed,
        "failed": p.failed,
        "retries": p.retries,
        "emitted": p.emitted,
        "last_error": p.last_error,
    }


def _progress(d: Mapping[str, Any]) -> RoutineProgress:
    return RoutineProgress(
        status=RoutineStatus(d["status"]),
        activations=d["activations"],
        completed=d["completed"],
        failed=d["failed"],
        retries=d["retries"],
        emitted=d["emitted"],
        last_error=d["last_error"],
    )


# -- flows, workers, breakpoints ------------------------------------------------------------------


def flow_row(flow: FlowRecord) -> Row:
    return {
        "flow_id": flow.flow_id,
        "spec": raw(flow.spec.model_dump(mode="json", by_alias=True, exclude_none=True)),
        "revision": flow.revision,
        "created_at": flow.created_at,
        "updated_at": flow.updated_at,
    }


def flow_from_row(row: RowIn) -> FlowRecord:
    return FlowRecord(
        flow_id=row["flow_id"],
        spec=FlowSpec.model_validate(row["spec"]),
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def worker_row(worker: Worker) -> Row:
    return {
        "worker_id": worker.worker_id,
        "flow_id": worker.flow_id,
        "status": worker.status.value,
        "concurrency": worker.concurrency,
        "created_at": worker.created_at,
        "active_jobs": worker.active_jobs,
        "queued_jobs": worker.queued_jobs,
        "jobs_processed": worker.jobs_processed,
        "jobs_failed": worker.jobs_failed,
    }


def worker_from_row(row: RowIn) -> Worker:
    return Worker(
        worker_id=row["worker_id"],
        flow_id=row["flow_id"],
        status=WorkerStatus(row["status"]),
        concurrency=row["concurrency"],
        created_at=row["created_at"],
        active_jobs=row["active_jobs"],
        queued_jobs=row["queued_jobs"],
        jobs_processed=row["jobs_processed"],
        jobs_failed=row["jobs_failed"],
    )


def breakpoint_row(bp: Breakpoint) -> Row:
    # waiting_jobs is live runtime state (which runs sit at the breakpoint), never stored.
    return {
        "breakpoint_id": bp.breakpoint_id,
        "flow_id": bp.flow_id,
        "routine_id": bp.routine_id,
        "created_at": bp.created_at,
        "slot": bp.slot,
        "job_id": bp.job_id,
        "condition": bp.condition,
        "enabled": bp.enabled,
        "hit_count": bp.hit_count,
    }


def breakpoint_from_row(row: RowIn) -> Breakpoint:
    return Breakpoint(
        breakpoint_id=row["breakpoint_id"],
        flow_id=row["flow_id"],
        routine_id=row["routine_id"],
        created_at=row["created_at"],
        slot=row["slot"],
        job_id=row["job_id"],
        condition=row["condition"],
        enabled=bool(row["enabled"]),
        hit_count=row["hit_count"],
    )


# -- events and idempotency keys ----------------------------------------------------------------


def event_row(event: Event) -> Row:
    return {
        "id": event.id,
        "type": event.type.value,
        "timestamp": event.timestamp,
        "flow_id": event.flow_id,
        "job_id": event.job_id,
        "worker_id": event.worker_id,
        "routine_id": event.routine_id,
        "data": raw(event.data),
    }


def event_from_row(row: RowIn) -> Event:
    return Event(
        id=row["id"],
        type=EventType(row["type"]),
        timestamp=row["timestamp"],
        flow_id=row["flow_id"],
        job_id=row["job_id"],
        worker_id=row["worker_id"],
        routine_id=row["routine_id"],
        data=row["data"],
    )


def idempotency_row(idempotency: Idempotency, resource_id: str, created_at: datetime) -> Row:
    return {
        "key": idempotency.key,
        "scope": idempotency.scope,
        "fingerprint": idempotency.fingerprint,
        "resource_id": resource_id,
        "created_at": created_at,
    }


# -- what routines logged ---------------------------------------------------------------------


def log_row(log: JobLog) -> Row:
    return {
        "id": log.id,
        "job_id": log.job_id,
        "flow_id": log.flow_id,
        "routine_id": log.routine_id,
        "activation": log.activation,
        "attempt": log.attempt,
        "level": log.levelno,
        "logger": log.logger,
        "message": log.message,
        "exception": log.exception,
        "time": log.time,
    }


def log_from_row(row: RowIn) -> JobLog:
    return JobLog(
        id=row["id"],
        job_id=row["job_id"],
        flow_id=row["flow_id"],
        routine_id=row["routine_id"],
        activation=row["activation"],
        attempt=row["attempt"],
        levelno=row["level"],
        logger=row["logger"],
        message=row["message"],
        time=row["time"],
        exception=row["exception"],
    )
