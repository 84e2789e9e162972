"""Every ``routilux`` command against a live server: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from routilux.commands import app
from tests.live import LiveServer, live_server

GREET = """
flow_id: greet
routines:
  shape:  {class: Mapper, config: {mappings: {name: user.name, age: age}}}
  adults: {class: Filter, config: {condition: "data.age >= 18"}}
connections:
  - {from: shape.output, to: adults.input}
"""
SLOW = {"flow_id": "slow", "routines": {"wait": {"class": "Delay", "config": {"seconds": 30}}}}
FAILING = {
    "flow_id": "failing",
    "routines": {"boom": {"class": "Fail", "config": {"message": "no"}}},
}
KEY = "cli-test-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("cli"), api_key=KEY) as live:
        yield live


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flows")
    (folder / "greet.yaml").write_text(GREET)
    (folder / "slow.json").write_text(json.dumps(SLOW))
    (folder / "failing.json").write_text(json.dumps(FAILING))
    (folder / "broken.yaml").write_text(
        "routines:\n  a: {class: Nope}\n  b: {class: Filter, config: {condition: 'data.x >'}}\n"
    )
    return folder


def cli(server: LiveServer, *args: str, key: str | None = KEY) -> Any:
    options = ["--url", server.base_url] + (["--api-key", key] if key else [])
    return CliRunner().invoke(app, [*options, *args], catch_exceptions=False)


def as_json(server: LiveServer, *args: str) -> Any:
    result = cli(server, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_flows_validate_create_list_get_delete(server: LiveServer, files: Path) -> None:
    valid = cli(server, "flows", "validate", "-f", str(files / "greet.yaml"))
    assert valid.exit_code == 0 and "valid (2 routines, 1 connection)" in valid.output
    broken = cli(server, "flows", "validate", "-f", str(files / "broken.yaml"))
    assert broken.exit_code == 1
    assert "routines.a.class: unknown routine type 'Nope'" in broken.stderr
    assert "routines.b.config.condition" in broken.stderr
    for name in ("greet.yaml", "slow.json", "failing.json"):
        created = cli(server, "flows", "create", "-f", str(files / name))
        assert created.exit_code == 0, created.output
    again = cli(server, "flows", "create", "-f", str(files / "greet.yaml"))
    assert again.exit_code == 3 and "[flow_already_exists]" in again.stderr
    listed = cli(server, "flows", "list")
    assert listed.exit_code == 0 and "greet" in listed.stdout and "slow" in listed.stdout
    assert {f["flow_id"] for f in as_json(server, "flows", "list")} >= {"greet", "slow"}
    assert as_json(server, "flows", "get", "greet")["routines"]["adults"]["class"] == "Filter"
    missing = cli(server, "flows", "get", "nope")
    assert missing.exit_code == 3 and "[flow_not_found]" in missing.stderr
    (files / "temp.yaml").write_text(GREET.replace("greet", "temp"))
    cli(server, "flows", "create", "-f", str(files / "temp.yaml"))
    deleted = cli(server, "flows", "delete", "temp")
    assert deleted.exit_code == 0 and "deleted flow temp" in deleted.stdout


def test_run_shows_progress_and_prints_output(server: LiveServer, files: Path) -> None:
    cli(server, "flows", "create", "-f", str(files / "greet.yaml"))
    result = cli(server, "run", "greet", "--input", '{"user": {"name": "Ada"}, "age": 36}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"adults.passed": [{"name": "Ada", "age": 36}]}
    assert "▶ shape started" in result.stderr and "✓ adults completed" in result.stderr
    assert "job completed" in result.stderr
    (files / "input.json").write_text('{"user": {"name": "Bo"}, "age": 3}')
    from_file = cli(server, "--json", "run", "greet", "--input", f"@{files / 'input.json'}")
    assert json.loads(from_file.stdout)["output"] == {"adults.rejected": [{"name": "Bo", "age": 3}]}


def test_run_exit_codes(server: LiveServer, files: Path) -> None:
    cli(server, "flows", "create", "-f", str(files / "failing.json"))
    failed = cli(server, "run", "failing")
    assert failed.exit_code == 1 and "failed: no" in failed.stderr
    usage = cli(server, "run", "greet", "--input", "not json")
    assert usage.exit_code == 2
    unknown = cli(server, "run", "nope")
    assert unknown.exit_code == 3 and "[flow_not_found]" in unknown.stderr
    unauthorized = cli(server, "jobs", "list", key=None)
    assert unauthorized.exit_code == 3 and "[unauthorized]" in unauthorized.stderr


def test_jobs_list_get_cancel_watch(server: LiveServer, files: Path) -> None:
    cli(server, "flows", "create", "-f", str(files / "slow.json"))
    job_id = cli(server, "run", "slow", "--no-wait").stdout.strip()
    assert job_id.startswith("job_")
    assert as_json(server, "jobs", "get", job_id)["status"] in ("queued", "running")
    jobs = as_json(server, "jobs", "list", "--flow", "slow")
    assert [j["job_id"] for j in jobs] == [job_id]
    table = cli(server, "jobs", "list", "--status", "running", "--status", "queued")
    assert table.exit_code == 0 and "slow" in table.stdout
    assert cli(server, "jobs", "list", "--status", "bogus").exit_code == 2
    cancelled = cli(server, "jobs", "cancel", job_id)
    assert cancelled.exit_code == 0 and job_id in cancelled.stdout
    watched = cli(server, "jobs", "watch", job_id)
    assert watched.exit_code == 1 and "job cancelled" in watched.stderr
    done = cli(server, "run", "greet", "--no-wait", "--input", '{"age": 20}').stdout.strip()
    followed = cli(server, "jobs", "watch", done)
    assert followed.exit_code == 0
    assert json.loads(followed.stdout) == {"adults.passed": [{"name": None, "age": 20}]}


def test_workers_and_breakpoints(server: LiveServer, files: Path) -> None:
    cli(server, "flows", "create", "-f", str(files / "greet.yaml"))
    cli(server, "run", "greet", "--input", '{"age": 1}')
    worker = next(w for w in as_json(server, "workers", "list") if w["flow_id"] == "greet")
    paused = cli(server, "workers", "pause", worker["worker_id"])
    assert paused.exit_code == 0 and "paused" in paused.stdout
    assert as_json(server, "workers", "resume", worker["worker_id"])["status"] != "paused"
    added = cli(
        server,
        "breakpoints",
        "add",
        "--flow",
        "greet",
        "--routine",
        "adults",
        "--condition",
        "data.age > 60",
    )
    assert added.exit_code == 0, added.output
    bp_id = added.stdout.strip().rsplit(" ", 1)[-1]
    job_id = cli(server, "run", "greet", "--no-wait", "--input", '{"age": 70}').stdout.strip()
    waiting: list[str] = []
    for _ in range(200):
        listed = as_json(server, "breakpoints", "list", "--flow", "greet")
        waiting = next(b for b in listed if b["breakpoint_id"] == bp_id)["waiting_jobs"]
        if waiting:
            break
    assert waiting == [job_id]
    resumed = cli(server, "breakpoints", "resume", bp_id)
    assert resumed.exit_code == 0 and job_id in resumed.stdout
    assert cli(server, "jobs", "watch", job_id).exit_code == 0
    nobody = cli(server, "breakpoints", "resume", bp_id)
    assert nobody.exit_code == 3 and "[no_job_waiting]" in nobody.stderr
    removed = cli(server, "breakpoints", "rm", bp_id)
    assert removed.exit_code == 0 and bp_id in removed.stdout


def test_routine_types(server: LiveServer) -> None:
    names = {t["name"] for t in as_json(server, "routine-types")}
    assert {"Mapper", "Filter", "Splitter", "Aggregator"} <= names
    assert "Mapper" in cli(server, "routine-types").stdout


def test_unreachable_server_is_exit_3() -> None:
    result = CliRunner().invoke(app, ["--url", "http://127.0.0.1:9", "flows", "list"])
    assert result.exit_code == 3 and "cannot reach" in result.stderr
