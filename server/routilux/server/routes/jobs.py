"""Jobs: list with filters, get, cancel, and each job's event history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from routilux.engine.models import JobStatus
from routilux.server.convert import event_page_json, job_json, page_json
from routilux.server.deps import RuntimeDep, StoreDep, runtime_of, store_of
from routilux.server.jsonio import JSONBytes
from routilux.server.lean import lean
from routilux.server.openapi_problems import problems
from routilux.server.pagination import Cursor, Limit, decode_int_cursor, encode_cursor
from routilux.server.schemas.common import ID_PATTERN, MAX_INT64, Timestamp
from routilux.server.schemas.events import EventPage
from routilux.server.schemas.jobs import Job, JobPage

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

JobId = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=128)]


@router.get("", response_model=JobPage, responses=problems(422))
@lean
async def list_jobs(
    request: Request,
    flow_id: IdFilter = None,
    worker_id: IdFilter = None,
    status: Annotated[
        list[JobStatus] | None, Query(max_length=7, description="Repeat for several statuses.")
    ] = None,
    created_after: Annotated[Timestamp | None, Query()] = None,
    created_before: Annotated[Timestamp | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """List jobs, newest first, filtered by flow, worker, status and creation time."""
    runtime = runtime_of(request)
    page = await store_of(request).list_jobs(
        flow_id=flow_id,
        worker_id=worker_id,
        statuses=status or (),
        created_after=created_after,
        created_before=created_before,
        limit=limit,
        cursor=decode_int_cursor(cursor),
    )
    # Unfinished jobs change faster than the store is written: show their live state.
    items = [job_json(runtime.live_job(job.job_id) or job) for job in page.items]
    next_cursor = encode_cursor(str(page.next_cursor)) if page.next_cursor is not None else None
    return JSONBytes(page_json(items, next_cursor, page.total))


@router.get("/{job_id}", response_model=Job, responses=problems(404, 422))
@lean
async def get_job(
    job_id: JobId,
    request: Request,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=60,
            description="Seconds to wait for the job to finish or pause (long poll); 0: answer "
            "at once.",
            examples=[30],
        ),
    ] = 0,
) -> Response:
    """Get a job: status, input, output, error, progress per routine and timestamps.

    With `wait=S`, the answer comes as soon as the job is finished (`completed`, `failed`,
    `cancelled`) or `paused`, or after S seconds with the job as it is then: a script waits for
    a job with one request at a time, with neither polling nor a WebSocket.
    """
    runtime = runtime_of(request)
    job = await runtime.wait_settled(job_id, wait) if wait > 0 else await runtime.get_job(job_id)
    return JSONBytes(job_json(job))


@router.post(
    "/{job_id}/cancel",
    response_model=Job,
    responses={
        200: {"description": "The job is cancelled (now, or already)."},
        202: {"description": "The job is cancelling; routines in flight are winding down."},
        **problems(404, 409, 422),
    },
)
async def cancel_job(job_id: JobId, runtime: RuntimeDep) -> Response:
    """Cancel a job: no further routine starts and in-flight work is cancelled or discarded.

    Answers 202 while it winds down and 200 once it is cancelled; a completed or failed job
    cannot be cancelled (409).
    """
    job = await runtime.cancel_job(job_id)
    status = 202 if job.status is JobStatus.CANCELLING else 200
    return JSONBytes(job_json(job), status_code=status)


@router.post(
    "/{job_id}/retry",
    response_model=Job,
    status_code=202,
    responses={
        202: {"description": "The job is queued again, to continue from its last checkpoint."},
        **problems(404, 409, 422, 429),
    },
)
async def retry_job(job_id: JobId, runtime: RuntimeDep) -> Response:
    """Retry a failed job from its last checkpoint.

    What failed runs again with the input it had (as its next attempt), and so does anything
    else that was unfinished when the job failed; what had completed is not repeated. Fix the
    cause first: a flaky service, a bad deployment. The job runs the flow revision it started
    with. Only a `failed` job can be retried (409 otherwise); `job.retried` is published.
    """
    job = await runtime.retry_job(job_id)
    return JSONBytes(job_json(job), status_code=202)


@router.get("/{job_id}/events", response_model=EventPage, responses=problems(404, 422))
@lean
async def list_job_events(
    job_id: JobId,
    runtime: RuntimeDep,
    store: StoreDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_INT64, description="Only events with a greater id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """List a job's events in id order (the same envelope as the WebSocket stream)."""
    await runtime.get_job(job_id)
    events = await store.list_job_events(job_id, after=after, limit=limit)
    next_after = events[-1].id if len(events) == limit else None
    # Encoded here, not through the model: a stored payload is readable whatever it holds.
    return JSONBytes(event_page_json(events, next_after))
