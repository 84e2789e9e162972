"""The README's five-minute tour, run as written: its shell blocks, command by command, in order,
against a live server, so that the README cannot drift from the product.

What a reader fills in by hand is filled in the same way: ``<job_id>``, ``<worker_id>`` and
``<breakpoint_id>`` are the last such ids the commands before printed, ``<etag>`` the flow's
``ETag`` header; ``localhost:8000`` is the test server's address. Every command must succeed
(``curl`` is run with ``--fail-with-body`` so that an HTTP error fails it too).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, LiveServer, live_server

README = ROOT / "README.md"
SECTION = "## A five-minute tour"
IDS = {"job_id": "job", "worker_id": "wrk", "breakpoint_id": "bp"}
ID_PATTERN = re.compile(r"\b(job|wrk|bp)_[A-Za-z0-9]{8,}\b")  # not the key "job_id"
PLACEHOLDER = re.compile(r"<([a-z_]+)>")
HEREDOC = re.compile(r"<<'?(\w+)'?")
COMMAND_TIMEOUT = 60


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("tour-server")) as live:
        yield live


def tour_blocks(text: str) -> list[str]:
    """The ```bash blocks of the tour's section."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)


def commands(block: str) -> list[str]:
    """Shell commands, one per entry: continuation lines and here-documents joined."""
    result: list[str] = []
    lines = block.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        command = [line]
        heredoc = HEREDOC.search(line)
        if heredoc:
            while lines[index] != heredoc[1]:
                command.append(lines[index])
                index += 1
            command.append(lines[index])
            index += 1
        else:
            while _continues(command[-1]):
                command.append(lines[index])
                index += 1
        result.append("\n".join(command))
    return result


def _continues(line: str) -> bool:
    code = line.split(" #", 1)[0].rstrip()
    return code.endswith("\\") or code.endswith("|")


def test_commands_are_split_as_a_shell_reads_them() -> None:
    block = "# a comment\na one\ncat > f <<'EOF'\nx: 1\nEOF\nb \\\n  two  # note\nc |\n  d\n"
    assert commands(block) == [
        "a one",
        "cat > f <<'EOF'\nx: 1\nEOF",
        "b \\\n  two  # note",
        "c |\n  d",
    ]


def test_the_readme_tour_runs_as_written(server: LiveServer, tmp_path: Path) -> None:
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 2, "the tour has a CLI block and a curl block"
    address = server.base_url.removeprefix("http://")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROUTILUX_")},
        # `routilux` from the virtualenv running the tests (.venv/bin), as after `source`.
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT / "server"),
        "ROUTILUX_URL": server.base_url,
        "COLUMNS": "120",
    }
    last: dict[str, str] = {}
    ran: list[str] = []
    for block in blocks:
        for command in commands(block):
            line = _fill(command, last, server)
            line = line.replace("localhost:8000", address)
            line = line.replace("curl -s ", "curl -s --fail-with-body ")
            done = subprocess.run(
                ["bash", "-c", f"set -o pipefail\n{line}"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"$ {line}\n{output}"
            for kind, ident in ((m[1], m[0]) for m in ID_PATTERN.finditer(output)):
                last[kind] = ident
            ran.append(command)
    assert any(c.startswith("routilux breakpoints resume") for c in ran)
    assert sum(c.lstrip().startswith(("curl", "sed")) for c in ran) >= 4


def _fill(command: str, last: dict[str, str], server: LiveServer) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name in IDS:
            assert IDS[name] in last, f"no {name} printed before: {command}"
            return last[IDS[name]]
        if name == "etag":
            flow = re.search(r"/api/v1/flows/([A-Za-z0-9_.-]+)", command)
            assert flow is not None, command
            response = httpx.get(f"{server.base_url}/api/v1/flows/{flow[1]}", timeout=10)
            return response.headers["ETag"]
        raise AssertionError(f"unknown placeholder <{name}> in: {command}")

    return PLACEHOLDER.sub(value, command)
