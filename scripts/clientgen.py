"""Generate routilux-client from the server's OpenAPI schema, or check that the committed one is
current.

    python scripts/clientgen.py generate        # export openapi.json, regenerate client/
    python scripts/clientgen.py check [--root]  # fail if openapi.json or client/ is stale

Both build the same way, in a fresh temporary folder: export the schema from the server code,
run the pinned openapi-python-client on it (``--fail-on-warning``: no operation or body is ever
dropped silently), format the result with the pinned ruff, then add the hand-written parts of
``client/`` (``HAND_WRITTEN``). ``generate`` makes ``client/`` exactly that tree; ``check``
compares the two, byte for byte.
"""

from __future__ import annotations

import argparse
import copy
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from export_openapi import render  # noqa: E402

PACKAGE = "routilux_client"
# Paths under client/ that are written by hand and survive regeneration as they are.
HAND_WRITTEN = ("codegen", f"{PACKAGE}/helpers")
# Build and tool leftovers that are neither generated nor compared.
IGNORED = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist"}
# Request media types the generator cannot write. They are left out of the client's view of the
# schema only where the operation also takes JSON; routilux_client.helpers covers them.
CLIENT_SIDE_ONLY = {"application/yaml"}
RUFF_OPTIONS = ["--isolated", "--target-version", "py311", "--line-length", "100"]
FIX_COMMAND = "scripts/generate_client"


def check_tools() -> None:
    """Refuse to run with other versions of the tools than pinned: they write other bytes."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = dict(
        requirement.split("==", 1)
        for requirement in pyproject["project"]["optional-dependencies"]["test"]
        if "==" in requirement
    )
    for tool in ("openapi-python-client", "ruff"):
        installed = version(tool)
        if installed != pins[tool]:
            raise SystemExit(
                f"{tool} {installed} is installed but {pins[tool]} is pinned: "
                "run scripts/install --test"
            )


def client_view(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as the generator sees it: without request media types it cannot write."""
    view = copy.deepcopy(schema)
    for path_item in view["paths"].values():
        for operation in path_item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for media_type in CLIENT_SIDE_ONLY.intersection(content):
                    del content[media_type]
    return view


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
        raise SystemExit(f"{command[2]} failed (exit {result.returncode})")


def _ignored(path: Path) -> bool:
    return any(part in IGNORED or part.endswith(".egg-info") for part in path.parts)


def _files(root: Path) -> set[Path]:
    return {
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and not _ignored(p.relative_to(root))
    }


def build(schema_text: str, hand_written_from: Path, out: Path) -> None:
    """Generate the client for ``schema_text`` into ``out`` (which must not exist)."""
    hand_written_from = hand_written_from.resolve()
    codegen = hand_written_from / "codegen"
    with tempfile.TemporaryDirectory(prefix="routilux-clientgen-") as tmp:
        document = Path(tmp) / "openapi.json"
        document.write_text(json.dumps(client_view(json.loads(schema_text)), indent=2))
        _run(
            [
                sys.executable,
                "-m",
                "openapi_python_client",
                "generate",
                "--path",
                str(document),
                "--config",
                str(codegen / "config.yaml"),
                "--custom-template-path",
                str(codegen / "templates"),
                # Selects which metadata files exist; their content is our templates'.
                "--meta",
                "uv",
                "--output-path",
                str(out),
                "--fail-on-warning",
            ],
            cwd=Path(tmp),
        )
    _run([sys.executable, "-m", "ruff", "check", *RUFF_OPTIONS, "--fix-only", "-q", "."], out)
    _run([sys.executable, "-m", "ruff", "format", *RUFF_OPTIONS, "-q", "."], out)
    for relative in HAND_WRITTEN:
        source = hand_written_from / relative
        if not source.is_dir():
            raise SystemExit(f"missing hand-written part of the client: {source}")
        shutil.copytree(source, out / relative, ignore=shutil.ignore_patterns(*IGNORED, "*.pyc"))


def differences(expected: Path, actual: Path) -> list[str]:
    """What differs between two client trees, as lines naming each file."""
    want, have = _files(expected), _files(actual)
    lines = [f"missing: {p}" for p in sorted(want - have)]
    lines += [f"not generated: {p}" for p in sorted(have - want)]
    lines += [
        f"differs: {p}"
        for p in sorted(want & have)
        if not filecmp.cmp(expected / p, actual / p, shallow=False)
    ]
    return lines


def generate(root: Path) -> None:
    schema_text = render()
    (root / "openapi.json").write_text(schema_text, encoding="utf-8")
    client = root / "client"
    with tempfile.TemporaryDirectory(prefix="routilux-client-") as tmp:
        fresh = Path(tmp) / "client"
        build(schema_text, client, fresh)
        for stale in sorted(_files(client) - _files(fresh)):
            (client / stale).unlink()
        for relative in sorted(_files(fresh)):
            target = client / relative
            source = fresh / relative
            if not target.is_file() or not filecmp.cmp(source, target, shallow=False):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    for directory in sorted(client.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not _ignored(directory) and not any(directory.iterdir()):
            directory.rmdir()


def check(root: Path) -> list[str]:
    """Everything stale in ``root``'s openapi.json and client/, compared with a fresh build."""
    schema_text = render()
    problems = []
    committed = root / "openapi.json"
    if not committed.is_file() or committed.read_text(encoding="utf-8") != schema_text:
        problems.append("openapi.json: differs from the schema the server code exports")
    with tempfile.TemporaryDirectory(prefix="routilux-client-") as tmp:
        fresh = Path(tmp) / "client"
        build(schema_text, root / "client", fresh)
        problems += [f"client/{line}" for line in differences(fresh, root / "client")]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="folder with openapi.json and client/"
    )
    args = parser.parse_args()
    root: Path = args.root.resolve()
    check_tools()
    if args.command == "generate":
        generate(root)
        print(f"generated {root / 'openapi.json'} and {root / 'client'}")
        return
    problems = check(root)
    if problems:
        print("The committed schema or client is stale:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print(f"Run {FIX_COMMAND} and commit the result.", file=sys.stderr)
        raise SystemExit(1)
    print("openapi.json and client/ are current")


if __name__ == "__main__":
    main()
