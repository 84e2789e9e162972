"""In-process server fixtures: a fresh app (and database) per test, driven through ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from routilux.engine.runtime import Runtime
from routilux.server import Settings, create_app
from tests.pg import DATABASES

PIPELINE = {
    "flow_id": "pipeline",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"name": "user.name", "age": "age"}}},
        "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
    },
    "connections": [{"from": "shape.output", "to": "adults.input"}],
}

SLOW = {
    "flow_id": "slow",
    "routines": {"wait": {"class": "Delay", "config": {"seconds": 30}}},
}

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def server_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The database the test's apps use: None for SQLite in ``tmp_path`` (every module), or a
    fresh PostgreSQL database's URL for the modules that run on both
    (``pytestmark = ON_BOTH_DATABASES``)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    server: Any = request.getfixturevalue("pg_server")
    with server.fresh_database() as url:
        yield url


ON_BOTH_DATABASES = pytest.mark.parametrize("server_database", DATABASES, indirect=True)
"""A module's tests run on SQLite and on PostgreSQL (processes sharing it: the deployment's
event stream, run slots, signals), as ``pytestmark``."""


@pytest.fixture
def make_client(tmp_path: Path, server_database: str | None) -> AppFactory:
    """Start an app on the test's database (the same one for each call: a restart)."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        # In process, requests carry `Host: test`: a name the Host check (keys unset) must allow.
        settings = {"allowed_hosts": ["test"], **settings}
        if server_database is not None:
            settings.setdefault("database_url", server_database)
        app = create_app(Settings(data_dir=tmp_path, **settings))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return start


@pytest.fixture
async def client(make_client: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as client:
        yield client


def runtime_of(client: httpx.AsyncClient) -> Runtime:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    runtime: Runtime = app.state.runtime
    return runtime


async def finished(client: httpx.AsyncClient, job_id: str, timeout: float = 10) -> dict[str, Any]:
    """Wait for a job to finish (on the engine's own signal), then read it over HTTP."""
    await runtime_of(client).wait_job(job_id, timeout)
    response = await client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def assert_problem(
    response: httpx.Response, status: int, code: str, loc: list[Any] | None = None
) -> dict[str, Any]:
    """Check an RFC 9457 problem response, and where given, that one error has ``loc``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:routilux:problem:{code}"
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    if loc is not None:
        assert loc in [e["loc"] for e in body["errors"]], body["errors"]
    return body
