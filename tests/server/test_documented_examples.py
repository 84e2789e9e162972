"""Every operation's documented example works: what Swagger UI's "Try it out" sends, replayed in
a sensible order against a fresh app, gets the documented success status.

Request bodies and the path parameters that can be known in advance (``flow_id``: the README's
``greet`` flow) come from the schema's examples; the ids the server makes (jobs, workers,
breakpoints) come from the answers to earlier operations, as a reader of the docs would copy them.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.poll import until

FAILING_JOB = "(a job that fails)"
"""Not an operation: a step that starts a job that fails, for ``retry_job``'s example."""

# (operation, what to wait for before it): the order a reader of the docs would try them in.
ORDER: list[tuple[str, str | None]] = [
    ("health_live", None),
    ("health_ready", None),
    ("list_routine_types", None),
    ("create_flow", None),
    ("list_flows", None),
    ("get_flow", None),
    ("update_flow", None),
    ("list_flow_revisions", None),
    ("create_breakpoint", None),
    ("list_breakpoints", None),
    ("get_breakpoint", None),
    ("execute_flow", None),
    ("cancel_job", "paused"),  # the first job, waiting at the breakpoint
    ("execute_flow", None),
    ("get_job", "paused"),
    ("resume_breakpoint", "paused"),
    ("list_jobs", "finished"),
    ("list_job_events", None),
    ("list_job_logs", None),
    (FAILING_JOB, None),  # a reader retries a job of their own that failed
    ("retry_job", "failed"),
    ("list_workers", None),
    ("get_worker", None),
    ("pause_worker", None),
    ("resume_worker", None),
    ("list_replicas", None),
    ("delete_breakpoint", None),
    ("delete_flow", None),
]
TIMEOUT = 10.0


def operations(schema: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


async def wait_job(client: httpx.AsyncClient, job_id: str, condition: str) -> None:
    async def reached() -> bool:
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        return (
            (condition == "paused" and job["status"] == "paused")
            or (condition == "failed" and job["status"] == "failed")
            or (condition == "finished" and job["finished_at"] is not None)
        )

    await until(reached, timeout=TIMEOUT, what=f"job {job_id} {condition}")


def request_of(
    operation: dict[str, Any], path: str, state: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    """The URL and body Swagger UI would send with the documented examples."""
    for parameter in operation.get("parameters", []):
        if not parameter.get("required"):
            continue
        name = parameter["name"]
        assert parameter["in"] == "path", f"{operation['operationId']}: required {name}"
        value = parameter.get("example", state.get(name))
        assert value is not None, f"{operation['operationId']}: no example for {name}"
        path = path.replace(f"{{{name}}}", str(value))
    body = operation.get("requestBody")
    if body is None:
        return path, {}
    media = body["content"].get("application/json")
    assert media is not None and "example" in media, (
        f"{operation['operationId']}: no request example (Swagger UI would invent one)"
    )
    return path, {"json": media["example"]}


async def test_every_documented_example_succeeds(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    by_id = operations(schema)
    ordered = {name for name, _ in ORDER}
    assert set(by_id) <= ordered, f"operations missing from ORDER: {set(by_id) - ordered}"
    state: dict[str, str] = {}
    replayed: set[str] = set()
    for name, before in ORDER:
        if name == FAILING_JOB:
            flow = {"flow_id": "fails", "routines": {"boom": {"class": "Fail"}}}
            assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
            job = await client.post("/api/v1/flows/fails/execute", json={"data": {}})
            state["job_id"] = job.json()["job_id"]
            continue
        if name not in by_id:
            continue  # not in this version of the API
        method, template, operation = by_id[name]
        if before is not None:
            await wait_job(client, state["job_id"], before)
        path, body = request_of(operation, template, state)
        response = await client.request(method, path, **body)
        documented = {int(s) for s in operation["responses"] if s.startswith("2")}
        assert response.status_code in documented, (name, path, response.text)
        replayed.add(name)
        answer = response.json() if response.content else {}
        for key in ("job_id", "breakpoint_id", "worker_id"):
            if isinstance(answer, dict) and isinstance(answer.get(key), str):
                state[key] = answer[key]
        items = answer.get("items") if isinstance(answer, dict) else None
        if name == "list_workers" and items:
            state["worker_id"] = items[0]["worker_id"]
    assert replayed == set(by_id)
