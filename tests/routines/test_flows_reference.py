"""docs/flows.md is what scripts/flows_reference.py generates from the code, and its examples are
valid flows."""

from __future__ import annotations

import re
import subprocess
import sys

from routilux.engine.documents import load_flow
from routilux.engine.spec import compile_flow
from routilux.routines import default_registry
from tests.live import ROOT

SCRIPT = ROOT / "scripts" / "flows_reference.py"
PAGE = ROOT / "docs" / "flows.md"


def test_the_committed_reference_is_what_the_script_generates() -> None:
    check = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_example_of_the_reference_is_a_valid_flow() -> None:
    registry = default_registry(entry_points_enabled=False)
    examples = re.findall(r"```yaml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    names = {name for name, _ in registry}
    documented = set()
    for example in examples:
        spec = load_flow(example, "yaml", registry)
        compile_flow(spec, registry, flow_id="example")
        documented |= {routine.class_ for routine in spec.routines.values()}
    assert names <= documented, f"types without an example: {names - documented}"


def test_every_built_in_type_and_dsl_field_is_described() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for name, _ in default_registry(entry_points_enabled=False):
        assert f"### {name}\n" in page
    for field in ("flow_id", "routines", "connections", "entry", "execution", "error_handler"):
        assert f"| `{field}` |" in page
    for strategy in ("stop", "continue", "retry", "skip"):
        assert f"`{strategy}`" in page
    assert "**Variable**: `data`" in page and "`matches`" in page
