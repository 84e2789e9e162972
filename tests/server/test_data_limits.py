"""Data that cannot be stored or returned is refused before anything is created (422 at its
location), and anything already stored stays readable: no request 500s because of a value."""

from __future__ import annotations

import json
import math
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import yaml
from hypothesis import strategies as st
from websockets.sync.client import connect as ws_connect

from routilux.engine.documents import validate_spec
from routilux.engine.events import Event, EventType
from routilux.engine.models import Job, JobStatus
from routilux.jsonutil import dumps
from routilux.server.convert import event_page_json, job_json
from routilux.server.jsonio import count_values, loads
from tests.live import live_server
from tests.poll import wait_until
from tests.server.conftest import AppFactory, assert_problem, finished, runtime_of
from tests.server.wsclient import connect

ECHO = {"flow_id": "echo", "routines": {"echo": {"class": "Identity"}}}
EXECUTE = "/api/v1/flows/echo/execute"
JSON = {"Content-Type": "application/json"}
FINISHED = ("completed", "failed", "cancelled")


def nested(levels: int) -> Any:
    """``levels`` containers, objects and arrays in turn: {"a": [{"a": [... 0 ...]}]}."""
    value: Any = 0
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def nested_loc(levels: int) -> list[Any]:
    """The location of the innermost of ``nested(levels)``'s containers."""
    loc: list[Any] = []
    for level in range(levels - 1, 0, -1):
        loc.append("a" if level % 2 else 0)
    return loc


async def counts(client: httpx.AsyncClient) -> tuple[int, int]:
    jobs = (await client.get("/api/v1/jobs")).json()["total"]
    flows = (await client.get("/api/v1/flows")).json()["total"]
    return jobs, flows


async def test_data_nested_253_or_254_levels_is_422_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=ECHO)
    before = await counts(client)
    for levels in (253, 254, 64):
        body = json.dumps({"data": {"d": nested(levels)}})
        response = await client.post(EXECUTE, content=body, headers=JSON)
        # The body is 1 deep, data 2, d's first container 3: the 65th container is refused.
        loc = ["body", "data", "d", *nested_loc(levels)[: 64 - 2]]
        problem = assert_problem(response, 422, "validation_error", loc)
        assert problem["errors"][0]["type"] == "too_deep"
    assert await counts(client) == before
    # At the limit (64 containers in all) the job is accepted and readable everywhere.
    accepted = await client.post(EXECUTE, json={"data": {"d": nested(62)}})
    assert accepted.status_code == 202, accepted.text
    job = await finished(client, accepted.json()["job_id"])
    assert job["status"] == "completed" and job["input"] == {"d": nested(62)}


async def test_nesting_beyond_the_decoders_reach_is_422(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=ECHO)
    body = '{"data": {"d": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = await client.post(EXECUTE, content=body, headers=JSON)
    problem = assert_problem(response, 422, "validation_error", ["body"])
    assert problem["errors"][0]["type"] == "too_deep"
    assert await counts(client) == (0, 1)


async def test_deep_schema_examples_in_a_flow_are_422_and_store_nothing(
    client: httpx.AsyncClient,
) -> None:
    examples = nested(250)
    document = {
        "flow_id": "deep",
        "routines": {
            "check": {
                "class": "SchemaValidator",
                "config": {"schema": {"type": "object", "examples": [examples]}},
            }
        },
    }
    response = await client.post("/api/v1/flows", json=document)
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["type"] == "too_deep"
    assert problem["errors"][0]["loc"][:6] == [
        "body",
        "routines",
        "check",
        "config",
        "schema",
        "examples",
    ]
    as_yaml = await client.post(
        "/api/v1/flows",
        content=yaml.safe_dump(document),
        headers={"Content-Type": "application/yaml"},
    )
    assert_problem(as_yaml, 422, "validation_error")
    not_finite = (
        "flow_id: nan\nroutines:\n  check:\n    class: SchemaValidator\n"
        "    config:\n      schema: {type: object, examples: [1, .nan]}\n"
    )
    response = await client.post(
        "/api/v1/flows", content=not_finite, headers={"Content-Type": "application/yaml"}
    )
    loc = ["body", "routines", "check", "config", "schema", "examples", 1]
    problem = assert_problem(response, 422, "validation_error", loc)
    assert problem["errors"][0]["type"] == "non_finite_number"
    listed = await client.get("/api/v1/flows")
    assert listed.status_code == 200 and listed.json()["total"] == 0


async def test_lone_surrogates_are_422_at_their_location(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=ECHO)
    for body, loc in (
        (rb'{"data": {"s": "\ud800"}}', ["body", "data", "s"]),
        (rb'{"data": {"l": ["ok", "x\udfffy"]}}', ["body", "data", "l", 1]),
        (rb'{"data": {"\ud800": 1}}', ["body", "data", "\ufffd"]),
        (rb'{"data": {}, "metadata": {"m": "\udc00"}}', ["body", "metadata", "m"]),
    ):
        response = await client.post(EXECUTE, content=body, headers=JSON)
        assert response.status_code == 422, response.text
        error = response.json()["errors"][0]
        assert error["type"] == "lone_surrogate"
        # The problem itself is valid UTF-8: the key comes back as U+FFFD.
        assert error["loc"] == loc
    # A real pair (an astral character) is fine.
    paired = await client.post(EXECUTE, content=rb'{"data": {"s": "\ud83d\ude00"}}', headers=JSON)
    assert paired.status_code == 202 and paired.json()["input"] == {"s": "\U0001f600"}
    assert (await counts(client))[0] == 1


async def test_non_finite_numbers_are_422_not_null(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=ECHO)
    for literal in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400"):
        body = f'{{"data": {{"x": [1, {literal}]}}}}'
        headers = {**JSON, "Idempotency-Key": "same"}
        response = await client.post(EXECUTE, content=body, headers=headers)
        problem = assert_problem(response, 422, "validation_error", ["body", "data", "x", 1])
        assert problem["errors"][0]["type"] == "non_finite_number"
    assert (await counts(client))[0] == 0
    large = await client.post(EXECUTE, content='{"data": {"x": 1e308}}', headers=JSON)
    assert large.status_code == 202 and large.json()["input"] == {"x": 1e308}


async def test_duplicate_keys_are_422_not_last_wins(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=ECHO)
    for body, loc in (
        ('{"data": {"a": 1, "b": {"c": 1, "c": 2}}}', ["body", "data", "b", "c"]),
        ('{"data": {"a": 1}, "data": {"a": 2}}', ["body", "data"]),
    ):
        response = await client.post(EXECUTE, content=body, headers=JSON)
        problem = assert_problem(response, 422, "validation_error", loc)
        assert problem["errors"][0]["type"] == "duplicate_key"
    flow = '{"flow_id": "twice", "routines": {"a": {"class": "Identity"}}, "flow_id": "again"}'
    response = await client.post("/api/v1/flows", content=flow, headers=JSON)
    assert_problem(response, 422, "validation_error", ["body", "flow_id"])
    assert await counts(client) == (0, 1)


async def test_many_small_values_are_422_though_few_bytes(make_client: AppFactory) -> None:
    async with make_client() as client:
        await client.post("/api/v1/flows", json=ECHO)
        # 256 KB of empty objects: ~87,000 values, ~6 MB once decoded.
        body = '{"data": {"l": [' + ",".join(["{}"] * 87_000) + "]}}"
        assert len(body) < 262_144
        response = await client.post(EXECUTE, content=body, headers=JSON)
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"][0]["type"] == "too_many_values"
        assert problem["errors"][0]["loc"][:3] == ["body", "data", "l"]
        # Keys count too: 15,000 keys and as many values.
        keys = '{"data": {' + ",".join(f'"k{i}": 0' for i in range(15_000)) + "}}"
        response = await client.post(EXECUTE, content=keys, headers=JSON)
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"][0]["type"] == "too_many_values"
        assert problem["errors"][0]["loc"][:2] == ["body", "data"]
        assert (await counts(client))[0] == 0

        # What the limit bounds: a body of 20,000 values (the default) of the costliest kind,
        # empty objects, takes under 2 MB once decoded.
        at_limit = '{"data": {"l": [' + ",".join(["{}"] * 19_990) + "]}}"
        tracemalloc.start()
        try:
            decoded = loads(at_limit)
            size, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count_values(decoded) <= 20_000
        assert size < 2 * 1024 * 1024, size
        response = await client.post(EXECUTE, content=at_limit, headers=JSON)
        assert response.status_code == 202, response.text


async def test_metadata_counts_in_the_job_input_limit(make_client: AppFactory) -> None:
    async with make_client(max_job_input_bytes=1000) as client:
        await client.post("/api/v1/flows", json=ECHO)
        body = {"data": {"x": "y" * 500}, "metadata": {"note": "z" * 600}}
        response = await client.post(EXECUTE, json=body)
        problem = assert_problem(response, 422, "job_input_too_large", ["body", "metadata"])
        assert "data and metadata" in problem["detail"]
        assert (await counts(client))[0] == 0
        small = await client.post(EXECUTE, json={"data": {"x": 1}, "metadata": {"m": "z" * 900}})
        assert small.status_code == 202


async def test_head_answers_every_get_route_like_get_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=ECHO)
    job_id = (await client.post(EXECUTE, json={"data": {"x": 1}})).json()["job_id"]
    await finished(client, job_id)
    paths = [
        "/api/v1/flows",
        "/api/v1/flows?limit=1",
        "/api/v1/flows/echo",
        "/api/v1/jobs",
        f"/api/v1/jobs/{job_id}",
        f"/api/v1/jobs/{job_id}/events",
        "/api/v1/workers",
        "/api/v1/breakpoints",
        "/api/v1/routine-types",
        "/api/v1/health/live",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/api/v1/flows/missing",
    ]
    for path in paths:
        get = await client.get(path)
        head = await client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        if path not in ("/metrics", "/openapi.json", "/docs") and get.status_code == 200:
            assert head.headers["content-length"] == get.headers["content-length"], path
    # HEAD where no GET is: 405, naming what is allowed; GET's Allow names HEAD.
    refused = await client.head(EXECUTE)
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    delete = await client.delete("/api/v1/jobs")
    assert delete.status_code == 405 and delete.headers["allow"] == "GET, HEAD"
    # The OpenAPI document has no HEAD operations: HEAD is implied by every GET.
    document = (await client.get("/openapi.json")).json()
    assert not [p for p, ops in document["paths"].items() if "head" in ops]


async def test_values_stored_by_an_older_server_stay_readable(make_client: AppFactory) -> None:
    """Values no longer accepted (nested 253 deep, in a job and in a flow's schema examples)
    stored by an older server: every read answers, over HTTP and WebSocket, and after a
    restart; so do integers beyond 64 bits, which are accepted."""
    deep_examples = {
        "flow_id": "deep",
        "routines": {
            "check": {
                "class": "SchemaValidator",
                "config": {"schema": {"type": "object", "examples": [nested(250)]}},
            }
        },
    }
    data = {"deep": nested(253), "big": 2**80}
    async with make_client() as client:
        runtime = runtime_of(client)
        await runtime.create_flow(validate_spec(ECHO))
        await runtime.create_flow(validate_spec(deep_examples))
        app = client.app  # type: ignore[attr-defined]
        async with connect(app, [("since", "0")]) as ws:
            job = await runtime.execute("echo", data)
            await runtime.wait_job(job.job_id, 10)
            while True:
                frame = await ws.receive()
                if frame["type"] == "job.completed":
                    break
        await check_readable(client, job.job_id)
    async with make_client() as client:  # a restart: the same database
        await check_readable(client, job.job_id)


async def check_readable(client: httpx.AsyncClient, job_id: str) -> None:
    for path in (
        "/api/v1/flows",
        "/api/v1/flows?limit=5",
        "/api/v1/flows/deep",
        "/api/v1/jobs",
        f"/api/v1/jobs/{job_id}",
        f"/api/v1/jobs/{job_id}/events",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:200])
        response.json()
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "completed"
    assert job["input"]["big"] == 2**80
    assert job["input"]["deep"] == nested(253)


def test_encoders_write_what_orjson_and_pydantic_refuse() -> None:
    """The encoders of stored values never raise: a lone surrogate becomes U+FFFD, a
    non-finite number null, any depth is written, and a record keeps its field order."""
    job = Job(
        job_id="j",
        flow_id="f",
        worker_id="w",
        status=JobStatus.COMPLETED,
        input={"odd": "x\ud800y", "deep": nested(300), "nan": math.nan, "big": -(2**70)},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    document = json.loads(job_json(job))
    assert list(document)[:5] == ["job_id", "flow_id", "worker_id", "status", "input"]
    assert document["status"] == "completed" and document["created_at"] == "2026-01-01T00:00:00Z"
    assert document["input"] == {
        "odd": "x\ufffdy",
        "deep": nested(300),
        "nan": None,
        "big": -(2**70),
    }
    event = Event(
        id=1,
        type=EventType.JOB_COMPLETED,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        flow_id="f",
        job_id="j",
        worker_id=None,
        routine_id=None,
        data={"k\udfff": [nested(260)]},
    )
    encoded = json.loads(event_page_json([event], None))
    assert encoded["items"][0]["data"] == {"k\ufffd": [nested(260)]}
    assert encoded["next_after"] is None
    assert json.loads(dumps({"s": "\ud800", "d": nested(400)})) == {"s": "\ufffd", "d": nested(400)}


# -- random JSON, end to end ------------------------------------------------------------------

ODD_CHARACTERS = ["\ud800", "\udfff", "\x00", "\u2028", "\ufeff", "\U0001f600", "\\", '"']
# Joined by hand: ``st.text`` never makes a lone surrogate.
TEXT = st.lists(st.sampled_from(ODD_CHARACTERS) | st.characters(), max_size=8).map("".join)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**100), max_value=2**100)
    | st.floats()  # NaN, infinities, -0.0, subnormals, the largest doubles
    | TEXT
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
DEEP = st.tuples(VALUES, st.integers(min_value=1, max_value=300)).map(
    lambda pair: {"deep": [nested(pair[1]), pair[0]]}
)
DATA = st.dictionaries(TEXT, VALUES, max_size=4) | DEEP


def test_random_json_is_refused_at_execute_or_readable_everywhere(tmp_path: Path) -> None:
    """Random data, deep and odd included, through execute → get → list → events → WebSocket
    on a live server: a 422 at execute (and no job), or a job readable everywhere; never a 5xx."""
    with (
        live_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, timeout=20, trust_env=False) as http,
        ws_connect(f"{server.ws_url}/api/v1/ws/events", proxy=None, open_timeout=20) as ws,
    ):
        assert http.post("/api/v1/flows", json=ECHO).status_code == 201
        jobs = 0
        outcomes: set[str] = set()

        def readable(path: str) -> Any:
            response = http.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            return response.json()

        @hypothesis.settings(
            max_examples=60,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(data=DATA)
        # One of each outcome every time, whatever the random ones are: derandomized examples
        # change with the test's source and with the modules loaded (Hypothesis draws constants
        # from them), and 60 of them once had no non-finite number.
        @hypothesis.example(data={"n": 1, "s": "ok"})
        @hypothesis.example(data={"deep": [nested(100), None]})
        @hypothesis.example(data={"s": "a\ud800b"})
        @hypothesis.example(data={"x": [float("nan"), float("inf")]})
        def execute(data: dict[str, Any]) -> None:
            nonlocal jobs
            body = json.dumps({"data": data}, ensure_ascii=True, allow_nan=True)
            response = http.post(EXECUTE, content=body, headers=JSON)
            assert response.status_code in (202, 422), (response.status_code, response.text[:300])
            errors = response.json()["errors"] if response.status_code == 422 else []
            outcomes.update([e["type"] for e in errors] or ["accepted"])
            if response.status_code == 422:
                assert response.headers["content-type"] == "application/problem+json"
                assert readable("/api/v1/jobs?limit=1")["total"] == jobs  # nothing created
                return
            jobs += 1
            job_id = response.json()["job_id"]
            assert response.json()["input"] == json.loads(body)["data"]
            wait_until(
                lambda: readable(f"/api/v1/jobs/{job_id}")["status"] in FINISHED,
                timeout=20,
                what="the job finished",
            )
            assert readable(f"/api/v1/jobs/{job_id}")["status"] == "completed"
            assert readable("/api/v1/jobs?limit=3")["items"]
            assert readable(f"/api/v1/jobs/{job_id}/events?limit=1000")["items"]
            while True:  # the stream carries the job's events up to its end, then stays open
                frame = json.loads(ws.recv(timeout=20))
                if frame["type"] == "job.completed" and frame["job_id"] == job_id:
                    break

        execute()
        assert readable("/api/v1/flows")["total"] == 1
        # Every kind of outcome was exercised (the explicit examples make sure of it).
        assert outcomes >= {"accepted", "too_deep", "lone_surrogate", "non_finite_number"}, outcomes
