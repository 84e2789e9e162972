"""Jobs on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from routilux.engine.models import JobStatus, RoutineStatus
from routilux.engine.spec import REFERENCE_PATTERN
from routilux.server.schemas.common import Body, PageBase


class JobExecute(Body):
    """Input for a new job of a flow."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": {"user": {"name": "Ada"}, "age": 36}}]}
    )

    data: dict[str, Any] = Field(
        description="The payload that enters the flow.",
        examples=[{"user": {"name": "Ada"}, "age": 36}],
    )
    entry: str | None = Field(
        None,
        pattern=REFERENCE_PATTERN,
        max_length=129,
        description="`routine.slot` where the data enters; by default the flow's entry.",
    )
    metadata: dict[str, Any] | None = Field(
        None, description="Free-form labels kept with the job.", examples=[{"source": "ci"}]
    )


class JobError(BaseModel):
    """Why a job failed."""

    code: str = Field(
        description="routine_failed, job_timeout, too_many_activations, job_backlog_exceeded, "
        "output_too_large, interrupted, ..."
    )
    type: str = Field(description="The exception type, or the engine's name for the failure.")
    message: str
    routine_id: str | None = None


class PausedAt(BaseModel):
    """Where a job waits at a breakpoint, with the data about to enter the routine."""

    breakpoint_id: str
    routine_id: str
    slot: str
    payload: dict[str, Any]


class RoutineProgress(BaseModel):
    status: RoutineStatus
    activations: int = Field(ge=0)
    completed: int = Field(ge=0)
    failed: int = Field(ge=0)
    retries: int = Field(ge=0)
    emitted: int = Field(ge=0)
    last_error: str | None = None


class Job(BaseModel):
    """One run of a flow on its input."""

    job_id: str
    flow_id: str
    worker_id: str
    status: JobStatus
    input: dict[str, Any]
    entry: str | None
    metadata: dict[str, Any]
    output: dict[str, list[dict[str, Any]]] = Field(
        description="Payloads of events with no outgoing connection, by `routine.event`."
    )
    error: JobError | None
    paused_at: PausedAt | None
    progress: dict[str, RoutineProgress] = Field(description="Per routine, by routine id.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    flow_revision: int = Field(
        ge=1, description="The flow's revision the job runs: the one current when it was queued."
    )
    recoveries: int = Field(
        ge=0,
        description="How often the job was resumed from its last checkpoint after the server "
        "process running it stopped (a crash, a restart).",
    )
    replica_id: str | None = Field(
        description="The replica (server process, see `list_replicas`) running the job; null "
        "while it is queued. A finished job keeps the replica that ran it last."
    )


class JobPage(PageBase):
    items: list[Job]
