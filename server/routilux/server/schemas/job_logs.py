"""What routine code logged during a job, on the wire."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class JobLog(BaseModel):
    """One line that a routine's code logged (through Python's `logging`) during the job."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1767225600000001,
                    "job_id": "job_0f3c2a9d8e7b4c61",
                    "routine_id": "shape",
                    "activation": 1,
                    "attempt": 1,
                    "level": "info",
                    "logger": "myroutines.shape",
                    "message": "shaped 1 record",
                    "time": "2026-01-01T00:00:00.000001Z",
                    "exception": None,
                }
            ]
        }
    )

    id: int = Field(ge=1, description="Increasing; pass the last one as `after` for more.")
    job_id: str
    routine_id: str | None = Field(description="The routine that logged it; null for the server.")
    activation: int | None = Field(
        ge=1, description="Which of the routine's activations in this job, from 1."
    )
    attempt: int | None = Field(ge=1, description="Which try of that activation (retries: 2, …).")
    level: LogLevel
    logger: str = Field(description="The Python logger's name.")
    message: str = Field(description="The formatted message (cut at 8192 characters).")
    time: datetime
    exception: str | None = Field(description="The traceback, when one was logged.")


class JobLogPage(BaseModel):
    items: list[JobLog]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null when there is nothing more now."
    )
