"""Health: liveness, and readiness (the store answers)."""

from __future__ import annotations

from fastapi import APIRouter

from routilux import __version__
from routilux.server.deps import StoreDep
from routilux.server.errors import ApiError
from routilux.server.openapi_problems import public_problems
from routilux.server.schemas.health import Health

router = APIRouter(prefix="/api/v1/health", tags=["health"])


@router.get("/live")
async def health_live() -> Health:
    """Say whether the process is up."""
    return Health(status="ok", version=__version__)


@router.get("/ready", responses=public_problems(503))
async def health_ready(store: StoreDep) -> Health:
    """Say whether the server can serve: 503 when the store cannot be reached."""
    try:
        await store.ping()
    except Exception as exc:
        raise ApiError(503, "store_unavailable", "the store cannot be reached") from exc
    return Health(status="ok", version=__version__)
