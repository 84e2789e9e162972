"""Workers on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from routilux.engine.models import WorkerStatus
from routilux.server.schemas.common import PageBase


class Worker(BaseModel):
    """The long-lived executor of one flow's jobs."""

    worker_id: str
    flow_id: str
    status: WorkerStatus
    concurrency: int = Field(ge=1)
    active_jobs: int = Field(ge=0)
    queued_jobs: int = Field(ge=0)
    jobs_processed: int = Field(ge=0)
    jobs_failed: int = Field(ge=0)
    created_at: datetime


class WorkerPage(PageBase):
    items: list[Worker]
