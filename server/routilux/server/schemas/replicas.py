"""Replicas on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from routilux.engine.replicas import ReplicaRole, ReplicaStatus
from routilux.server.schemas.common import PageBase

REPLICA_EXAMPLE: dict[str, JsonValue] = {
    "replica_id": "rep_5b0c1f4e9a7d4c2e8f3a6b1d0e9c8f7a",
    "role": "all",
    "host": "routilux-0",
    "pid": 4242,
    "started_at": "2026-12-02T01:00:00Z",
    "heartbeat_at": "2026-12-02T01:20:02Z",
    "status": "alive",
    "jobs_held": 3,
}


class Replica(BaseModel):
    """One server process of the deployment."""

    model_config = ConfigDict(json_schema_extra={"examples": [REPLICA_EXAMPLE]})

    replica_id: str = Field(description="Fresh at every start of a process.")
    role: ReplicaRole = Field(
        description="`all`: serves the API and executes jobs (`executor`, executing only, is "
        "reserved)."
    )
    host: str = Field(description="The host (machine or container) name it runs on.")
    pid: int = Field(ge=0, description="Its process id on that host.")
    started_at: datetime
    heartbeat_at: datetime = Field(
        description="Its last heartbeat (alive), or when it stopped (stopped)."
    )
    status: ReplicaStatus = Field(
        description="`alive`; `stopped` after a clean shutdown; `lost` once its heartbeat was "
        "older than the lease (its jobs were taken over)."
    )
    jobs_held: int = Field(ge=0, description="Unfinished jobs it owns (queued or running).")


class ReplicaPage(PageBase):
    items: list[Replica]
