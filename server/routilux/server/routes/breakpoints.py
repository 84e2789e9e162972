"""Breakpoints: pause jobs where data is about to enter a routine, inspect, resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from routilux.server.convert import to_breakpoint
from routilux.server.deps import RuntimeDep
from routilux.server.openapi_headers import string_header
from routilux.server.openapi_problems import problems
from routilux.server.pagination import Cursor, Limit, page_in_memory
from routilux.server.schemas.breakpoints import (
    Breakpoint,
    BreakpointCreate,
    BreakpointPage,
    BreakpointResume,
    BreakpointResumed,
)
from routilux.server.schemas.common import ID_PATTERN

router = APIRouter(prefix="/api/v1/breakpoints", tags=["breakpoints"])

BreakpointId = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=128)]


@router.get("", responses=problems(422))
async def list_breakpoints(
    runtime: RuntimeDep,
    flow_id: IdFilter = None,
    job_id: IdFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> BreakpointPage:
    """List breakpoints, newest first, optionally of one flow or one job."""
    matching = runtime.find_breakpoints(flow_id=flow_id, job_id=job_id)
    page, next_cursor = page_in_memory(
        matching, lambda b: (b.created_at, b.breakpoint_id), limit, cursor
    )
    # Only the page's breakpoints get their waiting jobs and become wire models.
    return BreakpointPage(
        items=[to_breakpoint(b) for b in runtime.with_waiting(page)],
        next_cursor=next_cursor,
        total=len(matching),
    )


@router.post(
    "",
    status_code=201,
    responses={
        201: {
            "description": "The breakpoint was created.",
            "headers": {"Location": string_header("The breakpoint's URL.")},
        },
        **problems(413, 422),
    },
)
async def create_breakpoint(
    body: BreakpointCreate, response: Response, runtime: RuntimeDep
) -> Breakpoint:
    """Create a breakpoint on a flow's routine; matching jobs pause before the routine runs.

    It applies to jobs already running and to future ones. The condition is a CEL expression
    over the payload `data`, checked when the breakpoint is created.
    """
    bp = await runtime.create_breakpoint(
        body.flow_id,
        body.routine_id,
        slot=body.slot,
        job_id=body.job_id,
        condition=body.condition,
        enabled=body.enabled,
    )
    response.headers["Location"] = f"/api/v1/breakpoints/{bp.breakpoint_id}"
    return to_breakpoint(runtime.get_breakpoint(bp.breakpoint_id))


@router.get("/{breakpoint_id}", responses=problems(404, 422))
async def get_breakpoint(breakpoint_id: BreakpointId, runtime: RuntimeDep) -> Breakpoint:
    """Get a breakpoint, its hit count and the jobs waiting at it."""
    return to_breakpoint(runtime.get_breakpoint(breakpoint_id))


@router.delete(
    "/{breakpoint_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "The breakpoint was deleted."}, **problems(404, 422)},
)
async def delete_breakpoint(breakpoint_id: BreakpointId, runtime: RuntimeDep) -> Response:
    """Delete a breakpoint; jobs paused at it continue."""
    await runtime.delete_breakpoint(breakpoint_id)
    return Response(status_code=204)


@router.post("/{breakpoint_id}/resume", responses=problems(404, 409, 413, 422))
async def resume_breakpoint(
    breakpoint_id: BreakpointId, runtime: RuntimeDep, body: BreakpointResume | None = None
) -> BreakpointResumed:
    """Resume the jobs waiting at a breakpoint (or only `job_id`); 409 if none waits there."""
    job_id = body.job_id if body is not None else None
    resumed = await runtime.resume_breakpoint(breakpoint_id, job_id)
    return BreakpointResumed(breakpoint_id=breakpoint_id, resumed_jobs=resumed)
