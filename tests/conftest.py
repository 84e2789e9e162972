"""Markers by folder, so that a new test in a slow folder is marked without anyone remembering to.

``slow``: whole-server runs measured in tens of seconds (kill -9, load, memory, contract fuzzing
against a live server or between two apps), the suites that drive the server as separate
processes (the CLI, the examples, the client across restarts, uvicorn's own command line,
WebSockets over real sockets), and the few load measurements elsewhere, marked where they stand;
``browser``: headless Chromium. ``scripts/test --quick`` (pytest's ``--quick``, added here)
leaves both out, keeping what runs in process (every endpoint, the engine, the store on SQLite
and PostgreSQL, the client against a server of its own); the default (and CI) runs everything.

``serial``: the runs that load the whole machine or measure what it does meanwhile (kill -9 in a
loop, load, memory, slow clients, the cluster): ``scripts/test`` runs them alone, after the
rest, which runs on two workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# The session's throwaway PostgreSQL (pg_server, pg_database), for every suite.
pytest_plugins = ["tests.pg"]

_TESTS = Path(__file__).resolve().parent
_SLOW = (
    "ops",
    "cluster",
    "contract/test_schemathesis.py",
    "contract/test_cli.py",
    "contract/test_lean_routes.py",
    "cli",
    "examples",
    "client/test_stream.py",
    "client/test_wait.py",
    "client/test_codegen.py",
    "server/test_loopback_only.py",
    "server/test_ws_live.py",
)
_BROWSER = ("browser",)
_SERIAL = ("ops", "cluster")


def _under(path: Path, places: tuple[str, ...]) -> bool:
    try:
        relative = path.resolve().relative_to(_TESTS).as_posix()
    except ValueError:
        return False
    return any(relative == place or relative.startswith(f"{place}/") for place in places)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        help="leave out the slow and browser tests; their folders and files are not even "
        "imported (collecting them, Schemathesis' generated tests above all, takes seconds)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.getoption("--quick") and _under(collection_path, _SLOW + _BROWSER):
        return True
    return None  # pytest decides


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if _under(path, _SLOW):
            item.add_marker(pytest.mark.slow)
        if _under(path, _BROWSER):
            item.add_marker(pytest.mark.browser)
        if _under(path, _SERIAL):
            item.add_marker(pytest.mark.serial)
    if config.getoption("--quick"):  # the tests marked where they stand
        left_out = [
            i for i in items if i.get_closest_marker("slow") or i.get_closest_marker("browser")
        ]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [i for i in items if i not in left_out]
