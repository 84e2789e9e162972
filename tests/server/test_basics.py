"""What every response shares: problems for unknown paths and methods, request ids, health,
routine types."""

from __future__ import annotations

import httpx

from tests.server.conftest import assert_problem


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "not_found")


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/flows")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/api/v1/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/api/v1/health/live")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await client.get("/api/v1/health/live", headers={"X-Request-ID": "a b\tc"})
    assert hostile.headers["x-request-id"] != "a b\tc"


async def test_health_live_and_ready(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/health/live", "/api/v1/health/ready"):
        response = await client.get(path)
        assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_ready_is_503_when_the_store_is_unreachable(client: httpx.AsyncClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    await store.close()
    assert_problem(await client.get("/api/v1/health/ready"), 503, "store_unavailable")


async def test_routine_types_describe_ports_and_config_schema(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/routine-types")).json()
    types = {t["name"]: t for t in body["items"]}
    assert body["total"] == len(types)
    assert {
        "Mapper",
        "Filter",
        "ConditionalRouter",
        "Splitter",
        "Aggregator",
        "Batcher",
        "Debouncer",
        "SchemaValidator",
        "Delay",
        "Fail",
    } <= set(types)
    assert types["Mapper"]["aliases"] == ["DataTransformer"]
    assert types["Filter"]["events"] == ["passed", "rejected"]
    assert types["Filter"]["slots"] == ["input"]
    assert "condition" in types["Filter"]["config_schema"]["properties"]
    assert types["Batcher"]["activation"] == "batch"
