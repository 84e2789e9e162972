"""scripts/schemathesis, as a user runs it against a deployment: a live server (uvicorn in a
subprocess), the Schemathesis command line with every check, stateful phase included. Bounded to a
few examples per operation; the in-process suite (test_schemathesis.py) is the thorough one."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.live import ROOT, live_servers

SCRIPT = ROOT / "scripts" / "schemathesis"
API_KEY = "cli-contract-key"


@dataclass
class Run:
    """One run of the script against its own live server."""

    result: subprocess.CompletedProcess[str]
    server_alive: bool  # the server was still running once the script had ended
    server_log: str


def script_command(base_url: str, *options: str) -> list[str]:
    return [str(SCRIPT), base_url, *options, "--checks", "all", "--max-examples", "5", "--no-color"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, Run]]:
    """Both runs, auth on and off, at once: each is a Schemathesis process and a server, about one
    core in all, so on two cores the pair takes the time of one."""
    root = tmp_path_factory.mktemp("cli")
    options = {"auth-on": {"api_key": API_KEY}, "auth-off": {}}
    with ExitStack() as stack:
        servers = stack.enter_context(live_servers(root, options)).servers
        started = {}
        for auth in (True, False):
            folder = root / ("auth-on" if auth else "auth-off")
            server = servers[folder.name]
            output = stack.enter_context((folder / "stdout").open("w+"))
            errors = stack.enter_context((folder / "stderr").open("w+"))
            command = script_command(server.base_url, *(["--api-key", API_KEY] if auth else []))
            process = subprocess.Popen(command, stdout=output, stderr=errors, text=True, cwd=ROOT)
            stack.callback(_end, process)
            started[auth] = (server, process, output, errors, command)
        done = {}
        for auth, (server, process, output, errors, command) in started.items():
            returncode = process.wait(timeout=240)
            alive = server.process.poll() is None
            output.seek(0)
            errors.seek(0)
            result = subprocess.CompletedProcess(command, returncode, output.read(), errors.read())
            done[auth] = Run(result, alive, server.log())
        yield done


def _end(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    report = f"{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    assert result.returncode == 0, report
    summary = result.stdout[result.stdout.rindex("SUMMARY") :]
    assert "Failures:" not in summary and "Errors:" not in summary, report
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    tested = re.search(r"Tested: (\d+)", summary)
    assert selected and tested, report
    assert selected[1] == selected[2] == tested[1], f"not every operation was tested\n{report}"
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in summary, report


@pytest.mark.parametrize("auth", [True, False], ids=["auth-on", "auth-off"])
def test_script_reports_no_failure_against_a_live_server(runs: dict[bool, Run], auth: bool) -> None:
    run = runs[auth]
    assert run.server_alive, run.server_log
    assert_clean(run.result)


def test_script_explains_its_usage() -> None:
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "BASE_URL" in result.stderr
