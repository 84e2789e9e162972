"""SQLite serves one process: a second ``routilux serve`` on the same data directory refuses to
start, with a clear message and a non-zero exit status; kill -9 of the first frees the file."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.live import ROOT, free_port, start_server, stop_server


def serve(data_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "routilux", "serve", "--port", str(free_port())]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT / "server"), "PATH": "/usr/bin:/bin"},
    )


def test_second_server_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        second = serve(tmp_path)
        assert second.returncode == 1, second
        database = (tmp_path / "routilux.db").resolve()
        assert (
            f"refusing to start: the SQLite database {database} is in use by another process "
            f"(pid {first.process.pid})"
        ) in second.stderr
        assert "ROUTILUX_DATABASE_URL" in second.stderr
    finally:
        stop_server(first, signal.SIGKILL)
    # The kernel dropped the dead process's lock: the file serves a new process at once.
    again = start_server(tmp_path)
    stop_server(again)
