"""Flows over HTTP: create (JSON and YAML), list, get, delete, with every declared error."""

from __future__ import annotations

import httpx

from tests.server.conftest import ON_BOTH_DATABASES, PIPELINE, SLOW, assert_problem, finished

pytestmark = ON_BOTH_DATABASES

YAML_FLOW = """
flow_id: from_yaml
routines:
  extract:
    class: Mapper
    config: {mappings: {name: user.name}}
    error_handler: {strategy: retry, max_retries: 3, retry_delay: 1.0, retry_backoff: 2.0}
  keep:
    class: Filter
    config: {condition: 'data.name != ""'}
connections:
  - {from: extract.output, to: keep.input}
execution:
  timeout: 300
"""


async def test_create_flow_is_201_with_location_and_etag(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/flows", json=PIPELINE)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/flows/pipeline"
    body = response.json()
    assert body["flow_id"] == "pipeline" and body["revision"] == 1
    assert body["routines"]["shape"]["class"] == "Mapper"
    assert body["connections"] == [{"from": "shape.output", "to": "adults.input"}]
    assert body["created_at"].endswith("Z")
    got = await client.get("/api/v1/flows/pipeline")
    assert got.status_code == 200
    assert got.headers["etag"] == response.headers["etag"]
    assert body.pop("warnings") == []  # only the create response has them
    assert got.json() == body


async def test_create_flow_from_yaml(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/flows", content=YAML_FLOW, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    execute = await client.post(
        "/api/v1/flows/from_yaml/execute", json={"data": {"user": {"name": "Ada"}}}
    )
    job = await finished(client, execute.json()["job_id"])
    assert job["output"] == {"keep.passed": [{"name": "Ada"}]}


async def test_create_flow_generates_an_id_when_absent(client: httpx.AsyncClient) -> None:
    document = {k: v for k, v in PIPELINE.items() if k != "flow_id"}
    response = await client.post("/api/v1/flows", json=document)
    assert response.status_code == 201
    assert response.json()["flow_id"].startswith("flow_")


async def test_create_existing_flow_is_409_and_keeps_it(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    response = await client.post("/api/v1/flows", json={**PIPELINE, "name": "other"})
    assert_problem(response, 409, "flow_already_exists")
    assert (await client.get("/api/v1/flows/pipeline")).json()["name"] is None


async def test_invalid_flow_is_422_with_exact_locations(client: httpx.AsyncClient) -> None:
    document = {
        "routines": {
            "a": {"class": "Nope"},
            "b": {"class": "Filter", "config": {"condition": "().__class__.__base__"}},
        },
        "connections": [{"from": "b.passed", "to": "x.input"}],
    }
    response = await client.post("/api/v1/flows", json=document)
    body = assert_problem(response, 422, "invalid_flow", ["body", "routines", "a", "class"])
    locs = [e["loc"] for e in body["errors"]]
    assert ["body", "routines", "b", "config", "condition"] in locs
    assert ["body", "connections", 0, "to"] in locs
    assert (await client.get("/api/v1/flows")).json()["total"] == 0


async def test_structurally_invalid_flow_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/flows", json={"routines": {}, "extra": 1})
    body = assert_problem(response, 422, "invalid_flow")
    locs = [e["loc"] for e in body["errors"]]
    assert ["body", "routines"] in locs and ["body", "extra"] in locs


async def test_malformed_bodies_are_problems_not_crashes(client: httpx.AsyncClient) -> None:
    bad_json = await client.post(
        "/api/v1/flows", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_problem(bad_json, 422, "invalid_flow")
    duplicate = await client.post(
        "/api/v1/flows",
        content=b"routines:\n  a: {class: Identity}\n  a: {class: Identity}\n",
        headers={"Content-Type": "application/yaml"},
    )
    assert "duplicate key a" in assert_problem(duplicate, 422, "invalid_flow")["detail"]
    text = await client.post(
        "/api/v1/flows", content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert_problem(text, 415, "unsupported_media_type")


async def test_list_flows_pages_newest_first(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await client.post("/api/v1/flows", json={**PIPELINE, "flow_id": f"f{n}"})
    first = (await client.get("/api/v1/flows", params={"limit": 2})).json()
    assert [f["flow_id"] for f in first["items"]] == ["f4", "f3"] and first["total"] == 5
    await client.post("/api/v1/flows", json={**PIPELINE, "flow_id": "newer"})
    second = (
        await client.get("/api/v1/flows", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [f["flow_id"] for f in second["items"]] == ["f2", "f1"]
    last = (
        await client.get("/api/v1/flows", params={"limit": 2, "cursor": second["next_cursor"]})
    ).json()
    assert [f["flow_id"] for f in last["items"]] == ["f0"] and last["next_cursor"] is None


async def test_list_flows_bad_cursor_and_limit_are_422(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.get("/api/v1/flows", params={"cursor": "garbage!"}),
        422,
        "invalid_cursor",
        ["query", "cursor"],
    )
    assert_problem(
        await client.get("/api/v1/flows", params={"limit": 0}),
        422,
        "validation_error",
        ["query", "limit"],
    )


async def test_get_unknown_flow_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/flows/nope"), 404, "flow_not_found")


async def test_delete_flow_is_204_then_404(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    assert (await client.delete("/api/v1/flows/pipeline")).status_code == 204
    assert_problem(await client.get("/api/v1/flows/pipeline"), 404, "flow_not_found")
    assert_problem(await client.delete("/api/v1/flows/pipeline"), 404, "flow_not_found")


async def test_delete_flow_with_unfinished_jobs_is_409_unless_forced(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=SLOW)
    job = (await client.post("/api/v1/flows/slow/execute", json={"data": {}})).json()
    assert_problem(await client.delete("/api/v1/flows/slow"), 409, "flow_has_active_jobs")
    assert (await client.delete("/api/v1/flows/slow", params={"force": "true"})).status_code == 204
    cancelled = await finished(client, job["job_id"])
    assert cancelled["status"] == "cancelled"


async def test_delete_flow_if_match(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/flows", json=PIPELINE)
    mismatch = await client.delete("/api/v1/flows/pipeline", headers={"If-Match": '"stale"'})
    assert_problem(mismatch, 412, "etag_mismatch")
    assert (await client.get("/api/v1/flows/pipeline")).status_code == 200
    match = await client.delete(
        "/api/v1/flows/pipeline", headers={"If-Match": created.headers["etag"]}
    )
    assert match.status_code == 204


async def test_create_flow_idempotency_key(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-1"}
    first = await client.post("/api/v1/flows", json=PIPELINE, headers=headers)
    again = await client.post("/api/v1/flows", json=PIPELINE, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await client.post("/api/v1/flows", json={**PIPELINE, "name": "x"}, headers=headers)
    assert_problem(other, 422, "idempotency_key_reused", ["header", "Idempotency-Key"])


async def test_idempotency_key_of_a_deleted_flow_creates_it_again(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "create-2"}
    assert (await client.post("/api/v1/flows", json=PIPELINE, headers=headers)).status_code == 201
    assert (await client.delete("/api/v1/flows/pipeline")).status_code == 204
    again = await client.post("/api/v1/flows", json=PIPELINE, headers=headers)
    assert again.status_code == 201
    assert (await client.get("/api/v1/flows/pipeline")).status_code == 200
