"""The ``routilux`` command as a new user meets it: whole ids at any width, ``--json`` anywhere,
plain English for cancelled jobs, unreachable servers, keys, statuses and flow problems."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from routilux.commands import app
from tests.cli.test_cli import GREET, KEY, SLOW
from tests.live import ROOT, LiveServer, free_port, live_server
from tests.poll import wait_until

BROKEN_YAML = "routines: [\n  shape: {class: Mapper\n"
ONE_PROBLEM = "routines:\n  a: {class: Nope}\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("cli-polish"), api_key=KEY) as live:
        yield live


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("polish-flows")
    (folder / "greet.yaml").write_text(GREET)
    (folder / "slow.json").write_text(json.dumps(SLOW))
    (folder / "broken.yaml").write_text(BROKEN_YAML)
    (folder / "one-problem.yaml").write_text(ONE_PROBLEM)
    (folder / "two-problems.yaml").write_text(
        "routines:\n  a: {class: Nope}\n  b: {class: Filter, config: {condition: 'data.x >'}}\n"
    )
    return folder


def run(server: LiveServer | None, *args: str, key: str | None = KEY, columns: int = 120) -> Any:
    url = server.base_url if server else f"http://127.0.0.1:{free_port()}"
    options = ["--url", url] + (["--api-key", key] if key else [])
    env = {"COLUMNS": str(columns), "ROUTILUX_API_KEY": ""}
    return CliRunner().invoke(app, [*options, *args], catch_exceptions=False, env=env)


def as_json(server: LiveServer, *args: str) -> Any:
    result = run(server, *args, "--json")  # after the subcommand: works too
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def greet(server: LiveServer, files: Path) -> str:
    created = run(server, "flows", "create", "-f", str(files / "greet.yaml"))
    assert created.exit_code == 0, created.output
    job = run(server, "--json", "run", "greet", "--input", '{"user": {"name": "Ada"}, "age": 36}')
    assert job.exit_code == 0, job.output
    job_id: str = json.loads(job.stdout)["job_id"]
    return job_id


@pytest.mark.parametrize("columns", [80, 120])
def test_tables_print_ids_whole(server: LiveServer, greet: str, columns: int) -> None:
    bp = as_json(server, "breakpoints", "add", "--flow", "greet", "--routine", "adults")
    try:
        checks = {
            ("jobs", "list"): [j["job_id"] for j in as_json(server, "jobs", "list")],
            ("workers", "list"): [w["worker_id"] for w in as_json(server, "workers", "list")],
            ("breakpoints", "list"): [bp["breakpoint_id"]],
            ("flows", "list"): ["greet"],
        }
        for command, ids in checks.items():
            table = run(server, *command, columns=columns)
            assert table.exit_code == 0, table.output
            assert "…" not in table.stdout, table.stdout
            assert max(map(len, table.stdout.splitlines())) <= columns, table.stdout
            for ident in ids:
                assert ident in table.stdout, (command, ident, table.stdout)
    finally:
        run(server, "breakpoints", "rm", bp["breakpoint_id"])


def test_json_goes_before_or_after_the_subcommand(server: LiveServer, greet: str) -> None:
    before = run(server, "--json", "jobs", "get", greet)
    after = run(server, "jobs", "get", greet, "--json")
    assert before.exit_code == after.exit_code == 0, after.output
    assert json.loads(before.stdout)["job_id"] == json.loads(after.stdout)["job_id"] == greet


def test_json_timestamps_are_written_as_the_api_writes_them(server: LiveServer, greet: str) -> None:
    job = as_json(server, "jobs", "get", greet)
    for field in ("created_at", "started_at", "finished_at"):
        assert job[field].endswith("Z") and "+00:00" not in job[field], job[field]
    listed = as_json(server, "flows", "list")
    assert all(f["created_at"].endswith("Z") for f in listed)


def test_counts_are_singular_when_one(server: LiveServer, files: Path) -> None:
    valid = run(None, "flows", "validate", "-f", str(files / "greet.yaml"))
    assert "(2 routines, 1 connection)" in valid.stdout
    one = run(None, "flows", "validate", "-f", str(files / "one-problem.yaml"))
    assert one.exit_code == 1 and "(1 problem)" in one.stderr


def test_flows_create_reports_problems_once_and_located(server: LiveServer, files: Path) -> None:
    for name in ("broken.yaml", "two-problems.yaml"):
        path = str(files / name)
        created = run(server, "flows", "create", "-f", path)
        validated = run(None, "flows", "validate", "-f", path)
        assert created.exit_code == 3 and validated.exit_code == 1
        # Said once each, located, exactly as `flows validate` says it.
        assert created.stderr == validated.stderr
        assert ": :" not in created.stderr and "invalid flow" not in created.stderr
        assert created.stderr.count(f"{path}: ") == 1 + name.count("two")
    broken = run(server, "flows", "create", "-f", str(files / "broken.yaml"))
    assert f"{files / 'broken.yaml'}: (document): not valid YAML" in broken.stderr


def test_delete_refusal_names_the_flag(server: LiveServer, files: Path) -> None:
    assert run(server, "flows", "create", "-f", str(files / "slow.json")).exit_code == 0
    job_id = run(server, "run", "slow", "--no-wait").stdout.strip()
    refused = run(server, "flows", "delete", "slow")
    assert refused.exit_code == 3 and "--force" in refused.stderr
    assert "use force" not in refused.stderr
    assert run(server, "flows", "delete", "slow", "--force").exit_code == 0
    watched = run(server, "jobs", "watch", job_id)
    assert watched.exit_code == 1
    assert f"job {job_id} was cancelled" in watched.stderr, watched.stderr


COMMANDS = [
    ("flows", "list"),
    ("flows", "get", "greet"),
    ("jobs", "list"),
    ("jobs", "get", "job_x"),
    ("jobs", "events", "job_x"),
    ("jobs", "watch", "job_x"),
    ("run", "greet"),
    ("workers", "list"),
    ("breakpoints", "list"),
    ("routine-types",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_server_reads_the_same_everywhere(command: tuple[str, ...]) -> None:
    started = time.monotonic()
    result = run(None, *command)
    # At once, even for `jobs watch`: a mistyped --url is no server restarting mid-watch.
    assert time.monotonic() - started < 10
    assert result.exit_code == 3
    assert result.stderr.startswith("error: cannot reach the server at http://127.0.0.1:")
    assert "--url or ROUTILUX_URL" in result.stderr


@pytest.mark.parametrize("command", [("jobs", "list"), ("jobs", "watch", "job_x")], ids=" ".join)
def test_a_refused_key_says_how_to_pass_one(server: LiveServer, command: tuple[str, ...]) -> None:
    for key in (None, "wrong-key"):
        result = run(server, *command, key=key)
        assert result.exit_code == 3 and "[unauthorized]" in result.stderr
        assert "--api-key" in result.stderr and "ROUTILUX_API_KEY" in result.stderr


def test_a_bogus_status_lists_the_valid_ones(server: LiveServer) -> None:
    result = run(server, "jobs", "list", "--status", "bogus")
    assert result.exit_code == 2
    for status in ("queued", "running", "paused", "completed", "failed", "cancelled"):
        assert status in result.output


def test_routine_types_show_their_configs(server: LiveServer) -> None:
    table = run(server, "routine-types", columns=200)
    assert table.exit_code == 0
    assert "config" in table.stdout
    assert "condition*: string" in table.stdout  # Filter's required field
    assert "mappings" in table.stdout


def test_jobs_events_lists_what_happened(server: LiveServer, greet: str) -> None:
    table = run(server, "jobs", "events", greet)
    assert table.exit_code == 0, table.output
    for kind in ("job.queued", "routine.started", "job.completed"):
        assert kind in table.stdout
    events = as_json(server, "jobs", "events", greet)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert events[-1]["type"] == "job.completed" and events[0]["timestamp"].endswith("Z")


def test_ctrl_c_in_run_says_the_job_goes_on(server: LiveServer, files: Path) -> None:
    run(server, "flows", "create", "-f", str(files / "slow.json"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROUTILUX_")},
        "PYTHONPATH": str(ROOT / "server"),
    }
    command = [sys.executable, "-m", "routilux", "--url", server.base_url, "--api-key", KEY]
    process = subprocess.Popen(
        [*command, "run", "slow"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline().decode()  # "job <id> on worker <id>", once it runs
        assert first.startswith("job "), first
        job_id = first.split()[1]
        wait_until(
            lambda: run(server, "--json", "jobs", "get", job_id).exit_code == 0,
            timeout=10,
            interval=0,  # each check is a command of its own
            what=f"job {job_id} readable",
        )
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode == 130
    message = rest.decode()
    assert f"job {job_id} keeps running on the server" in message
    assert f"routilux jobs watch {job_id}" in message
    assert json.loads(run(server, "--json", "jobs", "get", job_id).stdout)["status"] in (
        "queued",
        "running",
    )
    run(server, "jobs", "cancel", job_id)
