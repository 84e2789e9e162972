"""Workers: list, get, pause and resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from routilux.engine.errors import WorkerStopped
from routilux.engine.models import WorkerStatus
from routilux.server.convert import to_worker, worker_json
from routilux.server.deps import RuntimeDep
from routilux.server.jsonio import JSONBytes
from routilux.server.lean import lean
from routilux.server.openapi_problems import problems
from routilux.server.pagination import Cursor, Limit, page_in_memory
from routilux.server.schemas.common import ID_PATTERN
from routilux.server.schemas.workers import Worker, WorkerPage

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])

WorkerId = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]


@router.get("", responses=problems(422))
async def list_workers(runtime: RuntimeDep, limit: Limit = 50, cursor: Cursor = None) -> WorkerPage:
    """List workers, newest first; a flow gets one the first time it runs."""
    workers = runtime.list_workers()
    page, next_cursor = page_in_memory(
        workers, lambda w: (w.created_at, w.worker_id), limit, cursor
    )
    return WorkerPage(
        items=[to_worker(w) for w in page], next_cursor=next_cursor, total=len(workers)
    )


@router.get("/{worker_id}", response_model=Worker, responses=problems(404, 422))
@lean
async def get_worker(worker_id: WorkerId, runtime: RuntimeDep) -> Response:
    """Get a worker: status, concurrency, active and queued jobs, counters."""
    return JSONBytes(worker_json(runtime.get_worker(worker_id)))


@router.post("/{worker_id}/pause", responses=problems(404, 409, 422))
async def pause_worker(worker_id: WorkerId, runtime: RuntimeDep) -> Worker:
    """Pause a worker: no routine of its jobs starts until resumed (idempotent).

    Logic in flight finishes; queued jobs wait. A stopped worker (its flow was deleted) is a 409.
    """
    return to_worker(await runtime.pause_worker(worker_id))


@router.post("/{worker_id}/resume", responses=problems(404, 409, 422))
async def resume_worker(worker_id: WorkerId, runtime: RuntimeDep) -> Worker:
    """Resume a paused worker; its jobs continue with nothing lost (idempotent).

    A stopped worker (its flow was deleted) never runs again: a 409, as for pause.
    """
    if runtime.get_worker(worker_id).status is WorkerStatus.STOPPED:
        raise WorkerStopped(f"worker {worker_id!r} is stopped")
    return to_worker(await runtime.resume_worker(worker_id))
