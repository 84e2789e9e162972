"""The import contract of pyproject.toml ([tool.importlinter]) holds: layers, the engine's
forbidden libraries, and no circle between the modules of one package.

Runs ``lint-imports`` in a subprocess (it builds the import graph of the whole package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "server"), *filter(None, [env.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-c", RUN, str(config), "--no-cache", "--no-logo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contract_holds() -> None:
    result = lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_broken_contract_fails(tmp_path: Path) -> None:
    # The same runner reports a contract the code breaks (the engine does use jsonutil).
    config = tmp_path / "contract.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_package = "routilux"\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "broken on purpose"\n'
        'type = "forbidden"\n'
        'source_modules = ["routilux.engine"]\n'
        'forbidden_modules = ["routilux.jsonutil"]\n',
        encoding="utf-8",
    )
    result = lint_imports(config)
    assert result.returncode != 0
    assert "broken on purpose BROKEN" in result.stdout
