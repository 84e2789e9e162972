"""The contract suite's stateful phase in a process of its own, so that it runs beside the
per-operation tests rather than after them: both are CPU-bound Python, and one process runs on one
core. The tests start it first and read what it found (test_schemathesis.py).

    python -W error -m tests.contract.stateful    # prints {"auth": [...], "open": [...]}

Each mode runs on a new app with the harness's data in it (``ContractApp.start``), with every
check on each step, as ``ContractApp.run_stateful`` runs it in process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.contract.harness import ROOT, ContractApp

MODES = {"auth": True, "open": False}


def run() -> dict[str, list[str]]:
    """Each mode's problems (an empty list: none)."""
    found = {}
    for mode, auth in MODES.items():
        app = ContractApp(auth=auth)
        try:
            app.start()
            found[mode] = app.run_stateful()
        finally:
            app.stop()
    return found


class Background:
    """The stateful phase running in a child process."""

    def __init__(self) -> None:
        # Warnings are errors, as pytest's configuration makes them in process.
        command = [sys.executable, "-W", "error", "-m", "tests.contract.stateful"]
        path = os.pathsep.join(filter(None, [str(ROOT / "server"), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._found: dict[str, list[str]] | None = None

    def problems(self, mode: str, timeout: float = 600) -> list[str]:
        """What the run found in ``mode``, once it has ended."""
        if self._found is None:
            stdout, stderr = self.process.communicate(timeout=timeout)
            assert self.process.returncode == 0, f"the stateful run failed:\n{stderr[-8000:]}"
            self._found = json.loads(stdout.splitlines()[-1])
        return self._found[mode]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


if __name__ == "__main__":
    print(json.dumps(run()))
