"""What routine code logged during a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from routilux.engine.joblogs import LEVELS
from routilux.server.deps import RuntimeDep, StoreDep
from routilux.server.openapi_problems import problems
from routilux.server.routes.jobs import JobId
from routilux.server.schemas.common import MAX_INT64
from routilux.server.schemas.job_logs import JobLog, JobLogPage, LogLevel

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("/{job_id}/logs", responses=problems(404, 422))
async def list_job_logs(
    job_id: JobId,
    runtime: RuntimeDep,
    store: StoreDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_INT64, description="Only lines with a greater id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Lines at most.")] = 100,
    level: Annotated[
        LogLevel, Query(description="Only lines at this level or above.")
    ] = LogLevel.DEBUG,
) -> JobLogPage:
    """List what the job's routines logged, oldest first, with routine, activation and attempt.

    Lines that routine code writes through Python's `logging` while it runs for this job, at the
    server's log level or above (`ROUTILUX_LOG_LEVEL`). A job keeps its first
    `ROUTILUX_LOGS_PER_JOB` lines; one last line says how many more were dropped. To follow a
    running job, pass the last `id` seen as `after` (or `next_after`) and ask again.
    """
    await runtime.get_job(job_id)
    lines = await store.list_job_logs(
        job_id, after=after, limit=limit, min_level=LEVELS[level.value]
    )
    items = [
        JobLog(
            id=line.id,
            job_id=line.job_id,
            routine_id=line.routine_id,
            activation=line.activation,
            attempt=line.attempt,
            level=LogLevel(line.level),
            logger=line.logger,
            message=line.message,
            time=line.time,
            exception=line.exception,
        )
        for line in lines
    ]
    return JobLogPage(items=items, next_after=items[-1].id if len(items) == limit else None)
