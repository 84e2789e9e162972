"""CEL conditions cannot stall the server: hostile regexes and comprehensions, against a real loop.

Each test measures the event loop's lag (how late a 10 ms sleep wakes up) while a hostile job
runs in the in-process app, and checks that it stays below the 100 ms a client would notice.
tests/engine/test_expression_cost.py checks the costliest conditions the bounds accept.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from routilux.engine.expressions import MAX_EVALUATION_COST
from tests.looplag import loop_lag
from tests.poll import until
from tests.server.conftest import finished

HOSTILE = "data.l.exists(x, x.matches('\\\\w{150}'))"
"""Compiled once per element by the library's own `matches`: 28.5 s on 1,000 strings."""
STRINGS = {"l": [f"item{i}" for i in range(1000)]}  # ~ 6 KB
MAX_LAG = 0.1


def typical(stalls: list[float]) -> float:
    """The median of the worst lags of several runs: a stall that the condition causes recurs
    in every run, one that a busy machine causes does not."""
    return sorted(stalls)[len(stalls) // 2]


def one_routine(routine: dict[str, Any], flow_id: str = "f") -> dict[str, Any]:
    return {"flow_id": flow_id, "routines": {"r": routine}}


async def run(client: httpx.AsyncClient, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/flows/{flow_id}/execute", json={"data": data})
    assert response.status_code == 202, response.text
    return await finished(client, response.json()["job_id"], timeout=20)


async def test_hostile_filter_regex_does_not_stall_the_loop(client: httpx.AsyncClient) -> None:
    flow = one_routine({"class": "Filter", "config": {"condition": HOSTILE}})
    assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    stalls = []
    started = time.perf_counter()
    for _ in range(5):
        async with loop_lag() as lag:
            job = await run(client, "f", STRINGS)
        assert job["status"] == "completed", job
        assert job["output"] == {"r.rejected": [STRINGS]}
        stalls.append(lag.worst)
    elapsed = time.perf_counter() - started
    assert typical(stalls) < MAX_LAG, f"the loop stalled {stalls} s"
    assert elapsed < 10  # 28.5 s each when the pattern was compiled per element


async def test_hostile_router_regex_does_not_stall_the_loop(client: httpx.AsyncClient) -> None:
    routes = [{"name": "long", "condition": HOSTILE}, {"name": "short", "condition": "true"}]
    flow = one_routine({"class": "ConditionalRouter", "config": {"routes": routes}})
    assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    stalls = []
    for _ in range(3):
        async with loop_lag() as lag:
            job = await run(client, "f", STRINGS)
        assert job["output"] == {"r.short": [STRINGS]}
        stalls.append(lag.worst)
    assert typical(stalls) < MAX_LAG, f"the loop stalled {stalls} s"


async def test_hostile_breakpoint_condition_does_not_stall_the_loop(
    client: httpx.AsyncClient,
) -> None:
    flow = one_routine({"class": "Identity"})
    assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    bp = await client.post(
        "/api/v1/breakpoints", json={"flow_id": "f", "routine_id": "r", "condition": HOSTILE}
    )
    assert bp.status_code == 201, bp.text
    stalls = []
    for _ in range(5):
        async with loop_lag() as lag:
            job = await run(client, "f", STRINGS)
        assert job["status"] == "completed", job  # the condition does not hold
        stalls.append(lag.worst)
    assert typical(stalls) < MAX_LAG, f"the loop stalled {stalls} s"
    # Still a working breakpoint: a payload it matches pauses its job.
    matching = {"l": [*STRINGS["l"], "w" * 150]}
    response = await client.post("/api/v1/flows/f/execute", json={"data": matching})
    job_id = response.json()["job_id"]

    async def paused() -> bool:
        return bool((await client.get(f"/api/v1/jobs/{job_id}")).json()["status"] == "paused")

    await until(paused, timeout=10, interval=0.005, what="the matching job paused")


async def test_non_literal_or_unbounded_patterns_are_refused_at_creation(
    client: httpx.AsyncClient,
) -> None:
    cases = {
        "data.s.matches(data.pattern)": "must be a string literal",
        "data.s.matches('\\\\w{1000}')": "more than MAX_PATTERN_SIZE",
    }
    for condition, message in cases.items():
        flow = one_routine({"class": "Filter", "config": {"condition": condition}})
        response = await client.post("/api/v1/flows", json=flow)
        assert response.status_code == 422, response.text
        assert message in response.text
        bp = await client.post(
            "/api/v1/breakpoints",
            json={"flow_id": "f", "routine_id": "r", "condition": condition},
        )
        assert bp.status_code == 422, bp.text


async def test_condition_over_budget_fails_the_activation_naming_the_bound(
    client: httpx.AsyncClient,
) -> None:
    condition = "data.l.all(x, data.l.exists(y, data.l.exists(z, x + y == z)))"
    flow = one_routine({"class": "Filter", "config": {"condition": condition}})
    assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    stalls = []
    for _ in range(3):
        async with loop_lag() as lag:
            job = await run(client, "f", {"l": list(range(2000))})
        stalls.append(lag.worst)
        assert job["status"] == "failed"
        assert job["error"]["code"] == "routine_failed"
        assert f"MAX_EVALUATION_COST of {MAX_EVALUATION_COST}" in job["error"]["message"]
    assert typical(stalls) < MAX_LAG, f"the loop stalled {stalls} s"
    events = await client.get(f"/api/v1/jobs/{job['job_id']}/events")
    failed = [e for e in events.json()["items"] if e["type"] == "routine.failed"]
    assert failed and failed[0]["data"]["error_type"] == "ExpressionTooCostly"
