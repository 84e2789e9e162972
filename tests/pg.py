"""A throwaway PostgreSQL for the tests: Debian's binaries, a data directory in a temp folder, a
free loopback port (and a Unix socket in the same folder), one server per test session, a fresh
database per test. Never skipped: missing binaries fail with what to run.

``scripts/install_postgres`` installs the binaries (``scripts/test`` calls it). initdb refuses to
run as root, so as root the server runs as the ``postgres`` system user (Debian's package makes
it; it is created here when missing).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.live import free_port
from tests.poll import wait_until

BINDIR = Path(os.environ.get("ROUTILUX_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
START_TIMEOUT = 30.0


def _binary(name: str) -> Path:
    path = BINDIR / name
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"PostgreSQL's {name} is missing at {path}: run scripts/install_postgres "
            "(or set ROUTILUX_TEST_PG_BINDIR to the directory of initdb and postgres)",
            pytrace=False,
        )
    return path


def _run_as() -> str | None:
    """The user the server runs as: ourselves, unless we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER],
            check=True,
        )
    return SUPERUSER


@dataclass
class PgServer:
    """One PostgreSQL server process on ``port``; ``stop()`` and ``start()`` reuse its data."""

    root: Path
    port: int = field(default_factory=free_port)
    user: str | None = field(default_factory=_run_as)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def init(self) -> None:
        initdb = _binary("initdb")
        _binary("postgres")
        if self.user is not None:
            shutil.chown(self.root, self.user)
        subprocess.run(
            [
                str(initdb),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        assert self.process is None or self.process.poll() is not None
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(_binary("postgres")),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    # A test database: speed over durability (the server is never killed).
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user,
            )
        process = self.process

        def accepting() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"postgres exited early:\n{self.log()}")
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                return False

        try:
            wait_until(
                accepting,
                timeout=START_TIMEOUT,
                interval=0.05,
                what=lambda: f"postgres ready\n{self.log()}",
            )
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown (what ``pg_ctl stop -m fast`` sends): clients are disconnected."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def create_database(self) -> str:
        name = f"routilux_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new, empty database as a SQLAlchemy URL, dropped on exit (unless the server has
        stopped meanwhile)."""
        name = self.create_database()
        try:
            yield self.url(name)
        finally:
            if self.process is not None and self.process.poll() is None:
                self.drop_database(name)


@contextmanager
def throwaway_server() -> Iterator[PgServer]:
    """A PostgreSQL server of its own in a temp folder (the ``postgres`` user must reach it, so
    not under pytest's root-only ``tmp_path``), stopped by pid and deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix="routilux-pg-"))
    server = PgServer(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server, started on first use, stopped (by pid) at the end."""
    with throwaway_server() as server:
        yield server


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, as a SQLAlchemy URL; dropped after."""
    with pg_server.fresh_database() as url:
        yield url


DATABASES = ["sqlite", "postgresql"]


def database_url(request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[str]:
    """For a fixture parametrized over ``DATABASES``: a SQLite file URL or a fresh PostgreSQL
    database (dropped after the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{sqlite_path}"
        return
    server: Any = request.getfixturevalue("pg_server")
    assert isinstance(server, PgServer)
    with server.fresh_database() as url:
        yield url
