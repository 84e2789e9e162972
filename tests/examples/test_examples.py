"""Every example in examples/ runs as documented: its flow, on its input, gives its output."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from routilux.server import Settings, create_app
from tests.live import ROOT, LiveServer, live_server
from tests.poll import until

EXAMPLES = ROOT / "examples"
NAMES = ["etl", "fan_out_fan_in", "retry"]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(data_dir=tmp_path, allowed_hosts=["test"]))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def create(client: httpx.AsyncClient, name: str) -> str:
    response = await client.post(
        "/api/v1/flows",
        content=(EXAMPLES / name / "flow.yaml").read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    flow_id: str = response.json()["flow_id"]
    return flow_id


async def run(client: httpx.AsyncClient, flow_id: str, data: Any) -> dict[str, Any]:
    """Execute, then poll the job as a user would, for at most 20 s."""
    response = await client.post(f"/api/v1/flows/{flow_id}/execute", json={"data": data})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        return job if job["finished_at"] is not None else None

    return await until(finished, timeout=20, interval=0.05, what=f"job {job_id} finished")


@pytest.mark.parametrize("name", NAMES)
async def test_example_gives_its_expected_output(client: httpx.AsyncClient, name: str) -> None:
    flow_id = await create(client, name)
    job = await run(client, flow_id, read_json(EXAMPLES / name / "input.json"))
    assert job["status"] == "completed", job["error"]
    assert job["output"] == read_json(EXAMPLES / name / "expected_output.json")


async def test_etl_reports_an_invalid_batch_instead_of_loading_it(
    client: httpx.AsyncClient,
) -> None:
    flow_id = await create(client, "etl")
    job = await run(client, flow_id, {"orders": [{"id": "A-1", "amount": "lots"}]})
    assert job["status"] == "completed"
    (invalid,) = job["output"]["validate.invalid"]
    assert {e["path"] for e in invalid["errors"]} == {"orders.0", "orders.0.amount"}
    assert "load.passed" not in job["output"]


async def test_fan_out_runs_the_branches_and_joins_once(client: httpx.AsyncClient) -> None:
    flow_id = await create(client, "fan_out_fan_in")
    job = await run(client, flow_id, read_json(EXAMPLES / "fan_out_fan_in" / "input.json"))
    progress = job["progress"]
    assert {routine: p["completed"] for routine, p in progress.items()} == {
        "receive": 1,
        "billing": 1,
        "carrier": 1,
        "shipping": 1,
        "notification": 1,
        "join": 1,
    }


async def test_retry_shows_each_retry_with_its_backoff(client: httpx.AsyncClient) -> None:
    flow_id = await create(client, "retry")
    job = await run(client, flow_id, read_json(EXAMPLES / "retry" / "input.json"))
    assert job["progress"]["fetch"]["retries"] == 2
    events = (await client.get(f"/api/v1/jobs/{job['job_id']}/events")).json()["items"]
    retries = [e["data"] for e in events if e["type"] == "routine.retrying"]
    assert [(r["attempt"], r["delay"]) for r in retries] == [(1, 0.1), (2, 0.2)]
    assert {r["message"] for r in retries} == {"upstream timed out"}


@pytest.mark.parametrize("name", NAMES)
def test_example_readme_commands_name_its_flow(name: str) -> None:
    folder = EXAMPLES / name
    flow_id = yaml.safe_load((folder / "flow.yaml").read_text())["flow_id"]
    readme = (folder / "README.md").read_text()
    assert f"examples/{name}/flow.yaml" in readme
    assert f"/api/v1/flows/{flow_id}/execute" in readme
    assert f"python examples/run.py examples/{name} --url" in readme


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("examples-server")) as server:
        yield server


@pytest.mark.parametrize("name", NAMES)
def test_example_client_runs_as_is(server: LiveServer, name: str) -> None:
    """``python examples/run.py examples/<name> --url ...`` against a real server, twice (the
    second run finds the flow already there)."""
    expected = read_json(EXAMPLES / name / "expected_output.json")
    for _ in range(2):
        result = subprocess.run(
            [
                sys.executable,
                str(EXAMPLES / "run.py"),
                str(EXAMPLES / name),
                "--url",
                server.base_url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        status_line, _, output = result.stdout.partition("\n")
        assert status_line.endswith(": completed"), result.stdout
        assert json.loads(output) == expected
