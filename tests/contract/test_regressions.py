"""One test per class of defect that Schemathesis found in the original Routilux server
(reference/upstream-routilux.md: undocumented 401 and 404, 405 without `Allow`, a 500 on any
non-JSON body, naive datetimes, a deleted worker still served) and for `eval`-style conditions.

Plain requests, in process: each test fails if its defect comes back, whatever a fuzzer happens to
generate on a given run. Every status the probes get must be declared for the operation in the
app's own schema.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from routilux.server import Settings, create_app
from routilux.server.schemas.flows import FLOW_EXAMPLE
from tests.server.conftest import assert_problem, finished

API_KEY = "regression-key"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
RFC3339_WITH_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@cache
def schema() -> dict[str, Any]:
    openapi: dict[str, Any] = create_app(Settings(_env_file=None)).openapi()
    return openapi


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema()["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def fill(path: str, value: str) -> str:
    """The path with every parameter set to ``value``."""
    return re.sub(r"\{[^}]+\}", value, path)


def declared(operation: dict[str, Any], response: httpx.Response) -> bool:
    return str(response.status_code) in operation["responses"]


@asynccontextmanager
async def serve(tmp_path: Path, *, auth: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """An app on a fresh database; with auth on, the client sends the key unless told not to."""
    app = create_app(
        Settings(
            data_dir=tmp_path,
            api_keys=[API_KEY] if auth else [],
            allowed_hosts=["test"],
            _env_file=None,
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"X-API-Key": API_KEY} if auth else {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(tmp_path, auth=True) as client:
        yield client


async def test_every_401_is_declared_and_every_protected_operation_gives_one(
    client: httpx.AsyncClient,
) -> None:
    """Undocumented 401s: without the key, or with a wrong one, each protected operation answers
    401 (declared, a problem, with `WWW-Authenticate`); the public ones never do."""
    for method, path, operation in operations():
        for key in (None, "not-the-key", API_KEY.upper()):
            request = client.build_request(method, fill(path, "anything"), json={})
            del request.headers["x-api-key"]
            if key is not None:
                request.headers["x-api-key"] = key
            response = await client.send(request)
            if operation.get("security") == []:
                assert response.status_code != 401, (method, path)
                continue
            assert declared(operation, response), (method, path, response.status_code)
            body = assert_problem(response, 401, "unauthorized")
            assert "www-authenticate" in response.headers, (method, path)
            assert "anything" not in body["detail"], "a 401 tells nothing about what exists"


async def test_every_404_is_declared(client: httpx.AsyncClient) -> None:
    """Undocumented 404s: an id that names nothing is a declared 404 problem with a specific
    code on every operation that takes one; so is a path that is no operation at all."""
    seen_404 = 0
    for method, path, operation in operations():
        payload: dict[str, Any] = {"data": {}} if path.endswith("/execute") else {}  # required
        response = await client.request(method, fill(path, "nothing-here"), json=payload)
        assert declared(operation, response), (method, path, response.status_code)
        if response.status_code == 404:
            seen_404 += 1
            body = assert_problem(response, 404, response.json()["code"])
            assert body["code"].endswith("_not_found"), (method, path, body["code"])
        elif "{" in path:
            pytest.fail(f"{method} {path} answered {response.status_code} for a missing id")
    assert seen_404 >= 12
    # (`/` is the console's page, outside the API.)
    for unknown in ("/api/v1/nothing", "/api/v2/flows", "/api", "/nothing"):
        assert_problem(await client.get(unknown), 404, "not_found")


async def test_every_unsupported_method_is_a_405_with_allow(client: httpx.AsyncClient) -> None:
    """405 without `Allow`: every path answers the methods it lacks with a 405 problem whose
    `Allow` lists exactly the methods the schema declares there, and HEAD wherever GET is."""
    for path, item in schema()["paths"].items():
        declared_methods = {method.upper() for method in item}
        allowed = declared_methods | ({"HEAD"} if "GET" in declared_methods else set())
        for method in sorted(set(METHODS) - allowed):
            response = await client.request(method, fill(path, "x"))
            assert_problem(response, 405, "method_not_allowed")
            assert set(response.headers["allow"].split(", ")) == allowed, (method, path)


NOT_JSON = [
    ("text/plain", b"hello"),
    ("application/x-www-form-urlencoded", b"flow_id=a&routines=b"),
    ("multipart/form-data; boundary=XyZ", b'--XyZ\r\nContent-Disposition: form-data; name="a"'),
    ("application/json", b'{"routines": {'),
    ("application/json", b"\xff\xfe\x00\x81 not UTF-8"),
    ("application/json", b""),
    ("application/json", b"[1, 2, 3]"),
    ("application/json", b"NaN"),
    ("application/octet-stream", bytes(range(256))),
    ("application/yaml", b"routines: [unclosed"),
    ("application/yaml", b"!!python/object/apply:os.system ['id']"),
    ("", b"\x00\x01\x02"),
]


@pytest.mark.parametrize(("media_type", "content"), NOT_JSON)
async def test_a_body_that_is_no_json_document_is_a_declared_4xx_problem(
    client: httpx.AsyncClient, media_type: str, content: bytes
) -> None:
    """A 500 on any non-JSON body: every operation that takes a body answers text, forms,
    invalid JSON, binary and hostile YAML with a declared 4xx problem, never a 5xx."""
    await client.post("/api/v1/flows", json=FLOW_EXAMPLE)
    for method, path, operation in operations():
        if "requestBody" not in operation:
            continue
        headers = {"Content-Type": media_type} if media_type else {}
        response = await client.request(
            method, fill(path, "greet"), content=content, headers=headers
        )
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert declared(operation, response), (method, path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]


def _datetimes(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _datetimes(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _datetimes(item, key)
    elif isinstance(value, str) and (key.endswith("_at") or key == "timestamp"):
        yield key, value


async def test_every_datetime_in_responses_has_a_time_zone(client: httpx.AsyncClient) -> None:
    """Naive datetimes: every timestamp of every resource is RFC 3339 with a zone."""
    await client.post("/api/v1/flows", json=FLOW_EXAMPLE)
    bp = (
        await client.post(
            "/api/v1/breakpoints",
            json={"flow_id": "greet", "routine_id": "adults", "condition": "data.age > 60"},
        )
    ).json()
    done = await client.post(
        "/api/v1/flows/greet/execute", json={"data": {"user": {"name": "A"}, "age": 30}}
    )
    await finished(client, done.json()["job_id"])
    waiting = await client.post(
        "/api/v1/flows/greet/execute", json={"data": {"user": {"name": "B"}, "age": 90}}
    )
    job, worker = waiting.json()["job_id"], waiting.json()["worker_id"]
    reads = [
        "/api/v1/flows",
        "/api/v1/flows/greet",
        "/api/v1/jobs",
        f"/api/v1/jobs/{job}",
        f"/api/v1/jobs/{job}/events",
        "/api/v1/workers",
        f"/api/v1/workers/{worker}",
        "/api/v1/breakpoints",
        f"/api/v1/breakpoints/{bp['breakpoint_id']}",
    ]
    names: set[str] = set()
    for path in reads:
        response = await client.get(path)
        assert response.status_code == 200, path
        for name, value in _datetimes(response.json()):
            names.add(name)
            assert RFC3339_WITH_ZONE.match(value), (path, name, value)
    assert {"created_at", "updated_at", "started_at", "finished_at", "timestamp"} <= names


@pytest.mark.parametrize(
    "value",
    ["2026-01-01T00:00:00", "2026-01-01 00:00:00", "2026-01-01", "1767225600", "0", "now"],
)
async def test_a_datetime_parameter_without_a_zone_is_a_422(
    client: httpx.AsyncClient, value: str
) -> None:
    """A naive (or not RFC 3339) `created_after`/`created_before` is refused, never guessed."""
    for name in ("created_after", "created_before"):
        response = await client.get("/api/v1/jobs", params={name: value})
        assert_problem(response, 422, "validation_error", ["query", name])
    for aware in ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00", "0001-01-01T00:00:00+01:00"):
        response = await client.get("/api/v1/jobs", params={"created_after": aware})
        assert response.status_code == 200, response.text


async def test_the_worker_of_a_deleted_flow_is_stopped_and_not_served(
    client: httpx.AsyncClient,
) -> None:
    """A deleted worker still served: once its flow is deleted, the worker stays readable as
    `stopped` (its jobs name it), and refuses pause and resume with 409; nothing runs on it."""
    await client.post("/api/v1/flows", json=FLOW_EXAMPLE)
    job = (
        await client.post(
            "/api/v1/flows/greet/execute", json={"data": {"user": {"name": "A"}, "age": 1}}
        )
    ).json()
    ended = (await finished(client, job["job_id"]))["status"]
    assert (await client.delete("/api/v1/flows/greet")).status_code == 204
    worker_path = f"/api/v1/workers/{job['worker_id']}"
    worker = await client.get(worker_path)
    assert worker.status_code == 200 and worker.json()["status"] == "stopped"
    listed = (await client.get("/api/v1/workers")).json()["items"]
    assert [w["status"] for w in listed if w["worker_id"] == job["worker_id"]] == ["stopped"]
    for action in ("pause", "resume"):
        assert_problem(await client.post(f"{worker_path}/{action}"), 409, "worker_stopped")
    assert (await client.get(worker_path)).json()["status"] == "stopped"
    again = await client.post("/api/v1/flows/greet/execute", json={"data": {}})
    assert_problem(again, 404, "flow_not_found")
    assert (await client.get(f"/api/v1/jobs/{job['job_id']}")).json()["status"] == ended


EVAL_PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w').write('x')",
    "exec(\"open('{marker}', 'w')\")",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: open('{marker}', 'w')",
    "[open('{marker}', 'w') for _ in range(1)]",
    "data.age > 1; import os",
    "data.__class__.__init__.__globals__",
]


@pytest.mark.parametrize("payload", EVAL_PAYLOADS)
async def test_an_eval_style_condition_is_refused_wherever_conditions_go(
    client: httpx.AsyncClient, tmp_path: Path, payload: str
) -> None:
    """Conditions are CEL over `data`, never Python: Python code as a breakpoint, Filter or
    ConditionalRouter condition is a located 422 when created, and nothing of it ever runs."""
    marker = tmp_path / "pwned"
    source = payload.format(marker=marker)
    await client.post("/api/v1/flows", json=FLOW_EXAMPLE)
    breakpoint_ = await client.post(
        "/api/v1/breakpoints",
        json={"flow_id": "greet", "routine_id": "adults", "condition": source},
    )
    assert_problem(breakpoint_, 422, "invalid_input", ["body", "condition"])
    filtered = await client.post(
        "/api/v1/flows",
        json={"routines": {"keep": {"class": "Filter", "config": {"condition": source}}}},
    )
    assert_problem(filtered, 422, "invalid_flow")
    assert ["body", "routines", "keep", "config", "condition"] in [
        error["loc"][:5] for error in filtered.json()["errors"]
    ]
    routed = await client.post(
        "/api/v1/flows",
        json={
            "routines": {
                "route": {
                    "class": "ConditionalRouter",
                    "config": {"routes": [{"name": "bad", "condition": source}]},
                }
            }
        },
    )
    assert_problem(routed, 422, "invalid_flow")
    # As data, the same text is only ever a string.
    job = await client.post(
        "/api/v1/flows/greet/execute",
        json={"data": {"user": {"name": source}, "age": source}},
    )
    await finished(client, job.json()["job_id"])
    assert not marker.exists()
