"""scripts/schemathesis, as a user runs it against a deployment: a live server (uvicorn in a
subprocess), the Schemathesis command line with every check, stateful phase included. Bounded to a
few examples per operation; the in-process suite (test_schemathesis.py) is the thorough one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.live import ROOT, live_server

SCRIPT = ROOT / "scripts" / "schemathesis"
API_KEY = "cli-contract-key"


def run_script(base_url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), base_url, *options, "--checks", "all", "--max-examples", "5", "--no-color"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )


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
def test_script_reports_no_failure_against_a_live_server(tmp_path: Path, auth: bool) -> None:
    key = API_KEY if auth else None
    with live_server(tmp_path / "server", api_key=key) as server:
        result = run_script(server.base_url, *(["--api-key", API_KEY] if auth else []))
        assert server.process.poll() is None, server.log()
    assert_clean(result)


def test_script_explains_its_usage() -> None:
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "BASE_URL" in result.stderr
