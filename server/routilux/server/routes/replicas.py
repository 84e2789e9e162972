"""Replicas: the server processes of the deployment."""

from __future__ import annotations

from fastapi import APIRouter

from routilux.server.deps import RuntimeDep
from routilux.server.openapi_problems import problems
from routilux.server.pagination import Cursor, Limit, page_in_memory
from routilux.server.schemas.replicas import Replica, ReplicaPage

router = APIRouter(prefix="/api/v1/replicas", tags=["replicas"])


@router.get("", responses=problems(422))
async def list_replicas(
    runtime: RuntimeDep, limit: Limit = 50, cursor: Cursor = None
) -> ReplicaPage:
    """List the server processes sharing the database, newest first.

    Each is `alive` while it heartbeats, `stopped` after a clean shutdown, `lost` once its
    heartbeat is older than the lease (`ROUTILUX_REPLICA_LEASE_SECONDS`): its unfinished jobs
    were then taken over by a live replica. Stopped and lost replicas are listed for a day.
    """
    replicas = await runtime.store.replicas.list_replicas()
    page, next_cursor = page_in_memory(
        replicas, lambda r: (r.started_at, r.replica_id), limit, cursor
    )
    items = [Replica.model_validate(r, from_attributes=True) for r in page]
    return ReplicaPage(items=items, next_cursor=next_cursor, total=len(replicas))
