"""The exported schema: current, valid, and exact about names and statuses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from openapi_spec_validator import validate

from routilux.server import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
CORE_OPERATIONS = {
    ("get", "/api/v1/flows"): "list_flows",
    ("post", "/api/v1/flows"): "create_flow",
    ("get", "/api/v1/flows/{flow_id}"): "get_flow",
    ("delete", "/api/v1/flows/{flow_id}"): "delete_flow",
    ("post", "/api/v1/flows/{flow_id}/execute"): "execute_flow",
    ("get", "/api/v1/jobs"): "list_jobs",
    ("get", "/api/v1/jobs/{job_id}"): "get_job",
    ("post", "/api/v1/jobs/{job_id}/cancel"): "cancel_job",
    ("get", "/api/v1/workers"): "list_workers",
    ("get", "/api/v1/workers/{worker_id}"): "get_worker",
    ("post", "/api/v1/workers/{worker_id}/pause"): "pause_worker",
    ("post", "/api/v1/workers/{worker_id}/resume"): "resume_worker",
    ("get", "/api/v1/breakpoints"): "list_breakpoints",
    ("post", "/api/v1/breakpoints"): "create_breakpoint",
    ("delete", "/api/v1/breakpoints/{breakpoint_id}"): "delete_breakpoint",
    ("post", "/api/v1/breakpoints/{breakpoint_id}/resume"): "resume_breakpoint",
}


def committed() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((ROOT / "openapi.json").read_text())
    return schema


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_committed_schema_is_current() -> None:
    app = create_app(Settings(_env_file=None))
    assert committed() == app.openapi(), (
        "openapi.json is stale: run scripts/generate_client (or scripts/export_openapi.py)"
    )


def test_committed_schema_is_valid_openapi() -> None:
    validate(committed())


def test_every_core_operation_exists_with_its_name() -> None:
    schema = committed()
    for (method, path), name in CORE_OPERATIONS.items():
        assert schema["paths"][path][method]["operationId"] == name


def test_names_are_clean_and_operations_documented() -> None:
    schema = committed()
    assert not [n for n in schema["components"]["schemas"] if n.startswith("Body_")]
    for method, path, operation in operations(schema):
        assert re.fullmatch(r"[a-z_]+", operation["operationId"]), operation["operationId"]
        assert "_api_v1_" not in operation["operationId"]
        # The summary says it once; a description, when there is more to say, adds to it.
        assert operation["summary"], (method, path)
        assert not operation.get("description", "").startswith(operation["summary"]), path
        assert len(operation["tags"]) == 1
        for status, response in operation["responses"].items():
            assert status != "default"
            if int(status) >= 400:
                assert "application/problem+json" in response["content"], (path, status)
            assert "X-Request-ID" in response["headers"]


def test_public_operations_need_no_key() -> None:
    schema = committed()
    assert schema["security"] == [{"ApiKeyAuth": []}]
    for _, path, operation in operations(schema):
        public = path.startswith("/api/v1/health")
        assert (operation.get("security") == []) is public, path
        assert ("401" in operation["responses"]) is not public, path


def test_links_lead_from_created_resources_onwards() -> None:
    schema = committed()
    create = schema["paths"]["/api/v1/flows"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in create.values()} == {
        "get_flow",
        "execute_flow",
        "delete_flow",
    }
    execute = schema["paths"]["/api/v1/flows/{flow_id}/execute"]["post"]["responses"]["202"]
    assert {link["operationId"] for link in execute["links"].values()} == {
        "get_job",
        "cancel_job",
        "list_job_events",
        "list_job_logs",
    }
    event = schema["components"]["schemas"]["Event"]
    assert "job.completed" in schema["components"]["schemas"]["EventType"]["enum"]
    assert set(event["properties"]) == {
        "id",
        "type",
        "timestamp",
        "flow_id",
        "job_id",
        "worker_id",
        "routine_id",
        "data",
    }


async def test_docs_pages_load_their_assets_from_the_server(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            response = await client.get(asset)
            assert response.status_code == 200 and len(response.content) > 100, asset
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Routilux"
