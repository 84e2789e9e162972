"""The client is generated, reproducibly, from the committed schema, with nothing left out; the
drift check catches a stale schema or client; the example programs type-check, and run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
EXAMPLE = ROOT / "examples" / "client_example.py"
# The examples' runner (tests/examples runs it) is a routilux-client program too.
EXAMPLE_RUNNER = ROOT / "examples" / "run.py"


def drift_check(root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "scripts/clientgen.py", "check", "--root", str(root)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_operation_has_its_module_and_the_version_is_the_apis() -> None:
    schema = json.loads((ROOT / "openapi.json").read_text())
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            tag = operation["tags"][0].replace("-", "_")
            module = CLIENT / "routilux_client" / "api" / tag / f"{operation['operationId']}.py"
            assert module.is_file(), module
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "routilux-client"
    assert project["version"] == schema["info"]["version"]
    assert any(d.startswith("websockets") for d in project["dependencies"])
    # The server's commands use this client: they depend on the version generated from this API.
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"routilux-client=={project['version']}" in server["dependencies"]


def test_the_drift_check_names_each_stale_file_and_nothing_else(tmp_path: Path) -> None:
    shutil.copy2(ROOT / "openapi.json", tmp_path / "openapi.json")
    shutil.copytree(
        CLIENT, tmp_path / "client", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    schema = json.loads((tmp_path / "openapi.json").read_text())
    schema["info"]["version"] = "0.0.1"
    (tmp_path / "openapi.json").write_text(json.dumps(schema, indent=2))
    package = tmp_path / "client" / "routilux_client"
    with (package / "api" / "jobs" / "get_job.py").open("a") as edited:
        edited.write("# edited by hand\n")
    (package / "models" / "worker.py").unlink()
    (package / "models" / "leftover.py").write_text('"""From an older schema."""\n')
    stale = drift_check(tmp_path)
    assert stale.returncode == 1
    # Only what was changed here: the rest of a fresh build is the committed one, byte for byte.
    assert stale.stderr.splitlines() == [
        "The committed schema or client is stale:",
        "  openapi.json: differs from the schema the server code exports",
        "  client/missing: routilux_client/models/worker.py",
        "  client/not generated: routilux_client/models/leftover.py",
        "  client/differs: routilux_client/api/jobs/get_job.py",
        "Run scripts/generate_client and commit the result.",
    ]


def test_the_examples_pass_mypy_strict() -> None:
    programs = [str(path.relative_to(ROOT)) for path in (EXAMPLE, EXAMPLE_RUNNER)]
    command = [sys.executable, "-m", "mypy", "--strict", *programs]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_runs_against_a_live_server(server: LiveServer) -> None:
    command = [sys.executable, str(EXAMPLE), "--url", server.base_url, "--age", "41"]
    env = {**os.environ, "ROUTILUX_API_KEY": server.api_key or ""}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "completed: {'adults.passed': [{'name': 'Ada', 'age': 41}]}" in result.stdout
    assert "job.completed" in result.stdout
