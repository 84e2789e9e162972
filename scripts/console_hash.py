"""The hash of what the console is built from: its sources, its lockfile and openapi.json.

``scripts/build_console`` writes it next to the built files (``BUILD_HASH``); the test suite
recomputes it and fails when the sources changed without a rebuild. Usage: console_hash.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"node_modules", "dist"}
SKIP_FILES = {"src/api/schema.d.ts"}  # generated from openapi.json, which is hashed itself


def inputs(root: Path = ROOT) -> list[Path]:
    console = root / "console"
    found = [
        path
        for path in console.rglob("*")
        if path.is_file()
        and not SKIP_DIRS.intersection(path.relative_to(console).parts)
        and path.relative_to(console).as_posix() not in SKIP_FILES
    ]
    return [*sorted(found, key=lambda p: p.relative_to(root).as_posix()), root / "openapi.json"]


def source_hash(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in inputs(root):
        name = path.relative_to(root).as_posix().encode()
        data = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
        digest.update(data)
    return digest.hexdigest()


if __name__ == "__main__":
    print(source_hash())
