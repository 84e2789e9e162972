"""``routilux flows update|revisions|diff`` and ``routilux jobs logs [--follow]``, live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from routilux.commands import app
from tests.cli.test_cli import GREET
from tests.live import ROOT, LiveServer, live_server

KEY = "cli-changes-key"
CHATTY = {"flow_id": "chatty", "routines": {"talk": {"class": "Chatty"}}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "PYTHONPATH": f"{ROOT / 'server'}:{ROOT}",
        "ROUTILUX_ROUTINE_MODULES": "tests.cli.chatty",
    }
    with live_server(tmp_path_factory.mktemp("cli-changes"), api_key=KEY, env=env) as live:
        yield live


def cli(server: LiveServer, *args: str) -> Any:
    options = ["--url", server.base_url, "--api-key", KEY]
    return CliRunner().invoke(app, [*options, *args], catch_exceptions=False)


def test_flows_update_revisions_diff(server: LiveServer, tmp_path: Path) -> None:
    (tmp_path / "greet.yaml").write_text(GREET)
    (tmp_path / "greet2.yaml").write_text(GREET.replace("name: user.name", "who: user.name"))
    (tmp_path / "anonymous.yaml").write_text(GREET.replace("flow_id: greet", ""))
    assert cli(server, "flows", "create", "-f", str(tmp_path / "greet.yaml")).exit_code == 0
    updated = cli(server, "flows", "update", "-f", str(tmp_path / "greet2.yaml"))
    assert updated.exit_code == 0, updated.output
    assert updated.stdout.strip() == "updated flow greet: revision 2"
    # The flow named on the command line, for a file without flow_id; JSON output.
    again = cli(
        server, "--json", "flows", "update", "greet", "-f", str(tmp_path / "anonymous.yaml")
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["revision"] == 3
    listed = cli(server, "flows", "revisions", "greet")
    assert listed.exit_code == 0
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == ["3", "2", "1"]
    assert "2 routines, 1 connection" in listed.stdout
    as_json = cli(server, "--json", "flows", "revisions", "greet", "--limit", "2")
    assert [r["revision"] for r in json.loads(as_json.stdout)] == [3, 2]
    changed = cli(server, "flows", "diff", "greet", "--from", "1", "--to", "2")
    assert changed.exit_code == 0
    removed = [line[1:].strip() for line in changed.stdout.splitlines() if line[:1] == "-"]
    added = [line[1:].strip() for line in changed.stdout.splitlines() if line[:1] == "+"]
    assert removed == ["-- greet@1", '"name": "user.name"']
    assert added == ["++ greet@2", '"who": "user.name"']
    assert "--- greet@1" in changed.stdout and "+++ greet@2" in changed.stdout
    same = cli(server, "flows", "diff", "greet", "-f", str(tmp_path / "greet.yaml"))
    assert same.exit_code == 0 and same.stdout == "" and "no difference" in same.stderr
    refused = cli(
        server, "flows", "update", "-f", str(tmp_path / "greet.yaml"), "--if-match", '"stale"'
    )
    assert refused.exit_code == 3 and "[etag_mismatch]" in refused.stderr
    unknown = cli(server, "flows", "update", "nope", "-f", str(tmp_path / "greet.yaml"))
    assert unknown.exit_code == 3 and "[flow_not_found]" in unknown.stderr
    nameless = cli(server, "flows", "update", "-f", str(tmp_path / "anonymous.yaml"))
    assert nameless.exit_code == 2 and "no flow_id" in nameless.output


def test_flows_update_sends_json_typed_and_yaml_as_written(
    server: LiveServer, tmp_path: Path
) -> None:
    (tmp_path / "typed.yaml").write_text(GREET.replace("flow_id: greet", "flow_id: typed"))
    assert cli(server, "flows", "create", "-f", str(tmp_path / "typed.yaml")).exit_code == 0
    mapper = {"class": "Mapper", "config": {"mappings": {"name": "user.name"}}}
    document = {"flow_id": "typed", "routines": {"only": mapper}}
    (tmp_path / "typed.json").write_text(json.dumps(document))
    updated = cli(server, "--json", "flows", "update", "-f", str(tmp_path / "typed.json"))
    assert updated.exit_code == 0, updated.output
    flow = json.loads(updated.stdout)
    assert flow["revision"] == 2 and list(flow["routines"]) == ["only"]
    assert flow["updated_at"].endswith("Z")
    # A YAML file goes as written: the server's error names the place in the document.
    bad = (tmp_path / "typed.yaml").read_text().replace("class: Filter", "class: NoSuchRoutine")
    (tmp_path / "bad.yaml").write_text(bad)
    refused = cli(server, "flows", "update", "typed", "-f", str(tmp_path / "bad.yaml"))
    assert refused.exit_code == 3, refused.output
    assert "routines.adults" in refused.stderr and "NoSuchRoutine" in refused.stderr
    # A JSON file that is not a flow document is refused before anything is sent.
    (tmp_path / "nothing.json").write_text('{"flow_id": "typed"}')
    local = cli(server, "flows", "update", "-f", str(tmp_path / "nothing.json"))
    assert local.exit_code == 2 and "not a flow document" in local.stderr


def test_jobs_logs_and_follow(server: LiveServer, tmp_path: Path) -> None:
    (tmp_path / "chatty.json").write_text(json.dumps(CHATTY))
    assert cli(server, "flows", "create", "-f", str(tmp_path / "chatty.json")).exit_code == 0
    job_id = cli(
        server, "run", "chatty", "--no-wait", "--input", '{"name": "Ada", "pause": 0.5}'
    ).stdout.strip()
    followed = cli(server, "jobs", "logs", job_id, "--follow")
    assert followed.exit_code == 0, followed.output
    lines = followed.stdout.splitlines()
    assert len(lines) == 2
    assert "INFO" in lines[0] and "talk#1 tests.chatty: hello Ada" in lines[0]
    assert "WARNING" in lines[1] and lines[1].endswith("bye Ada")
    warnings = cli(server, "jobs", "logs", job_id, "--level", "warning")
    assert warnings.stdout.splitlines() == lines[1:]
    as_json = cli(server, "--json", "jobs", "logs", job_id)
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["message"] for e in entries] == ["hello Ada", "bye Ada"]
    assert cli(server, "jobs", "logs", job_id, "--level", "loud").exit_code == 2
    missing = cli(server, "jobs", "logs", "job_nope")
    assert missing.exit_code == 3 and "[job_not_found]" in missing.stderr
