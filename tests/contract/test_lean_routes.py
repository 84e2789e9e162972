"""Lean routes answer exactly as FastAPI's handler does: the contract suite's generated requests
for each lean operation, sent to an app with lean routes and to one without (the same data), must
get the same status, the same headers that matter and the same body."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import Case

from routilux.server import Settings, create_app
from routilux.server.lean import LeanRoute, is_lean
from routilux.server.schemas.flows import FLOW_EXAMPLE
from tests.contract.harness import load_config

LEAN = ("get_job", "list_jobs", "list_job_events", "list_flows", "get_worker")
COMPARED = (
    "content-type",
    "content-length",
    "etag",
    "cache-control",
    "last-modified",
    "allow",
    "location",
)
REQUEST_ID = "lean-equivalence"


class Pair:
    """Two apps over one runtime and store: lean routes on, and off."""

    def __init__(self, portal: BlockingPortal, root: Path) -> None:
        self.portal = portal
        self.on = create_app(Settings(data_dir=root / "on", lean_routes=True, _env_file=None))
        self.off = create_app(Settings(data_dir=root / "off", lean_routes=False, _env_file=None))
        self.stack = AsyncExitStack()
        self.ids: dict[str, str] = {}

    async def start(self) -> None:
        for app in (self.on, self.off):
            await self.stack.enter_async_context(app.router.lifespan_context(app))
        # The app without lean routes serves what the first one holds (what its lifespan set).
        for name in ("store", "runtime", "idempotency"):
            setattr(self.off.state, name, getattr(self.on.state, name))
        self.off.state.flow_documents = self.on.state.flow_documents
        await self._seed()

    async def _seed(self) -> None:
        async with self._client(self.on) as client:
            slow = {
                "flow_id": "slow",
                "routines": {"wait": {"class": "Delay", "config": {"seconds": 600}}},
            }
            for flow in (FLOW_EXAMPLE, slow):
                (await client.post("/api/v1/flows", json=flow)).raise_for_status()
            data = {"data": {"user": {"name": "Ada"}}}
            done = (await client.post("/api/v1/flows/greet/execute", json=data)).json()
            running = (await client.post("/api/v1/flows/slow/execute", json={"data": {}})).json()
            for _ in range(200):
                job = (await client.get(f"/api/v1/jobs/{done['job_id']}")).json()
                if job["status"] == "completed":
                    break
                await anyio.sleep(0.02)
            self.ids = {"done": done["job_id"], "running": running["job_id"]}
            self.ids["worker"] = job["worker_id"]

    async def stop(self) -> None:
        await self.stack.aclose()

    @staticmethod
    def _client(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        )

    async def _both(self, request: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
        answers = []
        for app in (self.on, self.off):
            async with self._client(app) as client:
                answers.append(await client.request(**request))
        return answers[0], answers[1]

    def compare(self, sent: dict[str, Any]) -> None:
        request: dict[str, Any] = {
            k: sent[k] for k in ("method", "url", "params", "headers") if k in sent
        }
        request["headers"] = {**request.get("headers", {}), "X-Request-ID": REQUEST_ID}
        lean, routed = self.portal.call(self._both, request)
        where = f"{request['method']} {request['url']} {request.get('params')}"
        assert lean.status_code == routed.status_code, where
        for name in COMPARED:
            assert lean.headers.get_list(name) == routed.headers.get_list(name), (where, name)
        assert lean.content == routed.content, where


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    root = Path(tempfile.mkdtemp(prefix="routilux-lean-"))
    with start_blocking_portal() as portal:
        apps = Pair(portal, root)
        try:
            portal.call(apps.start)
            yield apps
        finally:
            portal.call(apps.stop)
            shutil.rmtree(root, ignore_errors=True)


def test_the_lean_operations_are_the_declared_ones(pair: Pair) -> None:
    lean = [r for r in pair.on.router.routes if isinstance(r, LeanRoute)]
    assert sorted(r.declared.name for r in lean) == sorted(LEAN)
    assert all(is_lean(r.declared.endpoint) for r in lean)
    assert not any(isinstance(r, LeanRoute) for r in pair.off.router.routes)
    assert pair.on.openapi() == pair.off.openapi()


@pytest.mark.parametrize("operation_id", LEAN)
def test_generated_requests_get_the_same_answers(pair: Pair, operation_id: str) -> None:
    schema = schemathesis.openapi.from_dict(pair.on.openapi(), config=load_config(auth=False))
    operation = schema.find_operation_by_id(operation_id)
    known = [pair.ids["done"], pair.ids["running"], pair.ids["worker"], "greet"]

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Case[Any]) -> None:
        wait = (case.query or {}).get("wait")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 < wait <= 60:
            case.query["wait"] = 0.01  # a valid long poll, kept short (the running job waits)
        pair.compare(case.as_transport_kwargs(base_url="http://127.0.0.1"))
        # The same query on an object that exists (generated ids are mostly unknown: 404).
        generated = dict(case.path_parameters or {})
        for value in known if generated else ():
            case.path_parameters = dict.fromkeys(generated, value)
            pair.compare(case.as_transport_kwargs(base_url="http://127.0.0.1"))
        case.path_parameters = generated

    check()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/flows",
        "/api/v1/flows?limit=1",
        "/api/v1/flows?limit=0",
        "/api/v1/flows?cursor=nope",
        "/api/v1/flows?unknown=1",
        "/api/v1/jobs",
        "/api/v1/jobs?status=completed&status=running&limit=1",
        "/api/v1/jobs?status=nope&created_after=yesterday",
        "/api/v1/jobs?flow_id=-bad-",
        "/api/v1/jobs/{done}",
        "/api/v1/jobs/{running}",
        "/api/v1/jobs/{done}?wait=0.1",
        "/api/v1/jobs/{done}?wait=-1",
        "/api/v1/jobs/-bad-?wait=x",
        "/api/v1/jobs/job_nope",
        "/api/v1/jobs/{done}/events",
        "/api/v1/jobs/{done}/events?after=1&limit=2",
        "/api/v1/jobs/{done}/events?limit=0",
        "/api/v1/workers/{worker}",
        "/api/v1/workers/nope",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_chosen_requests_get_the_same_answers(pair: Pair, path: str, method: str) -> None:
    pair.compare({"method": method, "url": path.format(**pair.ids)})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/jobs/{done}"),
        ("DELETE", "/api/v1/jobs"),
        ("PUT", "/api/v1/flows"),
        ("PATCH", "/api/v1/workers/{worker}"),
        ("POST", "/api/v1/jobs/{done}/events"),
        ("GET", "/api/v1/jobs/{done}/"),
        ("GET", "/api/v1/flows/"),
    ],
)
def test_other_methods_and_near_paths_get_the_same_answers(
    pair: Pair, method: str, path: str
) -> None:
    """405 with the same Allow, and the same redirect or 404, whether a lean route matched."""
    pair.compare({"method": method, "url": path.format(**pair.ids)})


def test_metrics_label_lean_requests_by_their_route(pair: Pair) -> None:
    async def scrape() -> str:
        async with Pair._client(pair.on) as client:
            await client.get(f"/api/v1/jobs/{pair.ids['done']}")
            await client.get("/api/v1/flows")
            return (await client.get("/metrics")).text

    metrics = pair.portal.call(scrape)
    assert 'method="GET",route="/api/v1/jobs/{job_id}",status="200"' in metrics
    assert 'method="GET",route="/api/v1/flows",status="200"' in metrics
