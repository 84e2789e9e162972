"""Changing a flow: update_flow, its revisions, If-Match, and the revision each job runs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from routilux.engine.events import EventFilter, EventType
from tests.server.conftest import PIPELINE, AppFactory, assert_problem, finished, runtime_of

ORIGINAL: dict[str, Any] = PIPELINE
# Revision 2 of the pipeline: the same routines, another mapping.
RENAMED: dict[str, Any] = {
    **ORIGINAL,
    "routines": {
        **ORIGINAL["routines"],
        "shape": {"class": "Mapper", "config": {"mappings": {"who": "user.name", "age": "age"}}},
    },
}
ADA = {"user": {"name": "Ada"}, "age": 36}
YAML_REVISION = """
routines:
  shape: {class: Mapper, config: {mappings: {nom: user.name, age: age}}}
  adults: {class: Filter, config: {condition: "data.age >= 18"}}
connections:
  - {from: shape.output, to: adults.input}
"""


async def create(client: httpx.AsyncClient) -> httpx.Response:
    response = await client.post("/api/v1/flows", json=PIPELINE)
    assert response.status_code == 201, response.text
    return response


async def execute(client: httpx.AsyncClient, data: object = ADA) -> dict[str, Any]:
    response = await client.post("/api/v1/flows/pipeline/execute", json={"data": data})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def test_update_flow_is_200_with_the_next_revision_and_a_new_etag(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client)
    subscription = runtime_of(client).bus.subscribe(
        [EventFilter(types=frozenset({EventType.FLOW_UPDATED}))]
    )
    response = await client.put("/api/v1/flows/pipeline", json=RENAMED)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["revision"] == 2 and body["flow_id"] == "pipeline"
    assert body["routines"]["shape"]["config"]["mappings"] == {"who": "user.name", "age": "age"}
    assert body["created_at"] == created.json()["created_at"]
    assert body["updated_at"] >= body["created_at"]
    assert response.headers["etag"] != created.headers["etag"]
    assert response.headers["location"] == "/api/v1/flows/pipeline"
    assert body["warnings"] == []
    got = await client.get("/api/v1/flows/pipeline")
    assert got.json() == {k: v for k, v in body.items() if k != "warnings"}
    assert got.headers["etag"] == response.headers["etag"]
    event = subscription.get_nowait()
    assert event is not None and event.type is EventType.FLOW_UPDATED
    assert event.flow_id == "pipeline"
    assert event.data == {"revision": 2, "previous_revision": 1}
    subscription.close()
    done = await finished(client, (await execute(client))["job_id"])
    assert done["flow_revision"] == 2
    assert done["output"] == {"adults.passed": [{"who": "Ada", "age": 36}]}


async def test_update_flow_from_yaml_without_flow_id(client: httpx.AsyncClient) -> None:
    await create(client)
    response = await client.put(
        "/api/v1/flows/pipeline",
        content=YAML_REVISION,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["flow_id"] == "pipeline" and response.json()["revision"] == 2


async def test_update_flow_if_match(client: httpx.AsyncClient) -> None:
    stale = (await create(client)).headers["etag"]
    first = await client.put("/api/v1/flows/pipeline", json=RENAMED, headers={"If-Match": stale})
    assert first.status_code == 200, first.text
    again = await client.put("/api/v1/flows/pipeline", json=PIPELINE, headers={"If-Match": stale})
    assert_problem(again, 412, "etag_mismatch")
    assert (await client.get("/api/v1/flows/pipeline")).json()["revision"] == 2
    current = first.headers["etag"]
    ok = await client.put("/api/v1/flows/pipeline", json=PIPELINE, headers={"If-Match": current})
    assert ok.status_code == 200 and ok.json()["revision"] == 3
    star = await client.put("/api/v1/flows/pipeline", json=RENAMED, headers={"If-Match": "*"})
    assert star.status_code == 200 and star.json()["revision"] == 4


async def test_concurrent_updates_with_one_etag_let_one_through(
    client: httpx.AsyncClient,
) -> None:
    etag = (await create(client)).headers["etag"]
    responses = await asyncio.gather(
        *(
            client.put("/api/v1/flows/pipeline", json=RENAMED, headers={"If-Match": etag})
            for _ in range(5)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 412, 412, 412, 412]


async def test_update_unknown_flow_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.put("/api/v1/flows/nope", json=RENAMED), 404, "flow_not_found")


async def test_update_flow_with_an_invalid_document_is_422_and_keeps_it(
    client: httpx.AsyncClient,
) -> None:
    await create(client)
    broken = {**ORIGINAL, "routines": {**ORIGINAL["routines"], "adults": {"class": "Nope"}}}
    response = await client.put("/api/v1/flows/pipeline", json=broken)
    assert_problem(response, 422, "invalid_flow", ["body", "routines", "adults", "class"])
    other_id = {**RENAMED, "flow_id": "other"}
    response = await client.put("/api/v1/flows/pipeline", json=other_id)
    assert_problem(response, 422, "invalid_input", ["body", "flow_id"])
    empty = await client.put("/api/v1/flows/pipeline", content=b"")
    assert_problem(empty, 422, "validation_error", ["body"])
    got = await client.get("/api/v1/flows/pipeline")
    assert got.json()["revision"] == 1
    assert (await client.get("/api/v1/flows/pipeline/revisions")).json()["total"] == 1


async def test_list_flow_revisions_newest_first_in_pages(client: httpx.AsyncClient) -> None:
    await create(client)
    await client.put("/api/v1/flows/pipeline", json=RENAMED)
    await client.put("/api/v1/flows/pipeline", json=PIPELINE)
    listed = (await client.get("/api/v1/flows/pipeline/revisions")).json()
    assert [r["revision"] for r in listed["items"]] == [3, 2, 1]
    assert listed["total"] == 3 and listed["next_cursor"] is None
    assert listed["items"][1]["routines"]["shape"]["config"]["mappings"]["who"] == "user.name"
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/flows/pipeline/revisions", params=params)).json()
        seen += [r["revision"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [3, 2, 1]
    bad = await client.get("/api/v1/flows/pipeline/revisions", params={"cursor": "zz"})
    assert_problem(bad, 422, "invalid_cursor")
    assert_problem(await client.get("/api/v1/flows/nope/revisions"), 404, "flow_not_found")


async def test_get_flow_at_a_revision(client: httpx.AsyncClient) -> None:
    first = await create(client)
    await client.put("/api/v1/flows/pipeline", json=RENAMED)
    old = await client.get("/api/v1/flows/pipeline", params={"revision": 1})
    assert old.status_code == 200
    assert old.json() == {k: v for k, v in first.json().items() if k != "warnings"}
    assert old.headers["etag"] == first.headers["etag"]
    now = await client.get("/api/v1/flows/pipeline", params={"revision": 2})
    assert now.json()["revision"] == 2
    missing = await client.get("/api/v1/flows/pipeline", params={"revision": 3})
    assert_problem(missing, 404, "flow_revision_not_found")
    zero = await client.get("/api/v1/flows/pipeline", params={"revision": 0})
    assert_problem(zero, 422, "validation_error", ["query", "revision"])


async def test_a_running_job_keeps_its_revision(client: httpx.AsyncClient) -> None:
    await create(client)
    # Hold the old job before its second routine, update, then let it go on.
    bp = await client.post(
        "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "adults"}
    )
    assert bp.status_code == 201, bp.text
    old = await execute(client)
    paused = await client.get(f"/api/v1/jobs/{old['job_id']}", params={"wait": 10})
    assert paused.json()["status"] == "paused"
    assert (await client.put("/api/v1/flows/pipeline", json=RENAMED)).status_code == 200
    assert (await client.delete(f"/api/v1/breakpoints/{bp.json()['breakpoint_id']}")).is_success
    new = await execute(client)
    old_done, new_done = (
        await finished(client, old["job_id"]),
        await finished(client, new["job_id"]),
    )
    assert old_done["flow_revision"] == 1
    assert old_done["output"] == {"adults.passed": [{"name": "Ada", "age": 36}]}
    assert new_done["flow_revision"] == 2
    assert new_done["output"] == {"adults.passed": [{"who": "Ada", "age": 36}]}


async def test_a_queued_job_runs_the_revision_it_was_queued_with(
    client: httpx.AsyncClient,
) -> None:
    await create(client)
    first = await execute(client)
    worker_id = first["worker_id"]
    await finished(client, first["job_id"])
    assert (await client.post(f"/api/v1/workers/{worker_id}/pause")).status_code == 200
    queued = await execute(client)
    assert queued["status"] == "queued" and queued["flow_revision"] == 1
    await client.put("/api/v1/flows/pipeline", json=RENAMED)
    await client.post(f"/api/v1/workers/{worker_id}/resume")
    done = await finished(client, queued["job_id"])
    assert done["flow_revision"] == 1
    assert done["output"] == {"adults.passed": [{"name": "Ada", "age": 36}]}


async def test_restart_keeps_revisions_and_queued_jobs_their_revision(
    make_client: AppFactory,
) -> None:
    async with make_client() as client:
        await create(client)
        first = await execute(client)
        worker_id = first["worker_id"]
        await finished(client, first["job_id"])
        await client.post(f"/api/v1/workers/{worker_id}/pause")
        queued = await execute(client)
        assert (await client.put("/api/v1/flows/pipeline", json=RENAMED)).status_code == 200
    async with make_client() as client:
        listed = (await client.get("/api/v1/flows/pipeline/revisions")).json()
        assert [r["revision"] for r in listed["items"]] == [2, 1]
        old = (await client.get("/api/v1/flows/pipeline", params={"revision": 1})).json()
        assert old["routines"]["shape"]["config"]["mappings"]["name"] == "user.name"
        assert (await client.get(f"/api/v1/jobs/{queued['job_id']}")).json()["status"] == "queued"
        await client.post(f"/api/v1/workers/{worker_id}/resume")
        done = await finished(client, queued["job_id"])
        assert done["status"] == "completed" and done["flow_revision"] == 1
        assert done["output"] == {"adults.passed": [{"name": "Ada", "age": 36}]}
        # A flow deleted and created again starts over at revision 1, without the old ones.
        assert (await client.delete("/api/v1/flows/pipeline")).status_code == 204
        await create(client)
        listed = (await client.get("/api/v1/flows/pipeline/revisions")).json()
        assert [r["revision"] for r in listed["items"]] == [1]


async def test_the_oldest_revisions_go_beyond_the_bound(make_client: AppFactory) -> None:
    async with make_client(revisions_per_flow=2) as client:
        await create(client)
        for document in (RENAMED, ORIGINAL, RENAMED):
            assert (await client.put("/api/v1/flows/pipeline", json=document)).status_code == 200
        listed = (await client.get("/api/v1/flows/pipeline/revisions")).json()
        assert [r["revision"] for r in listed["items"]] == [4, 3] and listed["total"] == 2
        gone = await client.get("/api/v1/flows/pipeline", params={"revision": 2})
        assert_problem(gone, 404, "flow_revision_not_found")
        kept = await client.get("/api/v1/flows/pipeline", params={"revision": 3})
        assert kept.json()["routines"]["shape"]["config"]["mappings"]["name"] == "user.name"
