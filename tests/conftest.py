"""Markers by folder, so that a new test in a slow folder is marked without anyone remembering to.

``slow``: whole-server runs measured in tens of seconds (kill -9, load, memory, contract fuzzing
against a live server), and the few load measurements elsewhere, marked where they stand;
``browser``: headless Chromium. ``scripts/test --quick`` leaves both out;
the default (and CI) runs everything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# The session's throwaway PostgreSQL (pg_server, pg_database), for every suite.
pytest_plugins = ["tests.pg"]

_TESTS = Path(__file__).resolve().parent
_SLOW = ("ops", "contract/test_schemathesis.py", "contract/test_cli.py")
_BROWSER = ("browser",)


def _under(path: Path, places: tuple[str, ...]) -> bool:
    relative = path.relative_to(_TESTS).as_posix()
    return any(relative == place or relative.startswith(f"{place}/") for place in places)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if _under(path, _SLOW):
            item.add_marker(pytest.mark.slow)
        if _under(path, _BROWSER):
            item.add_marker(pytest.mark.browser)
