"""Connecting: engines, the SQLite connection setup, upserts per dialect, and migrations.

Everything that depends on which database is behind the URL lives here; the rest of the store
speaks portable SQLAlchemy Core.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from routilux.store import codec

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 10_000
STATEMENT_TIMEOUT_MS = 30_000
"""PostgreSQL: the longest a statement may run before the server cancels it."""
CONNECT_TIMEOUT_S = 5
"""PostgreSQL: the longest a new connection (or a free pooled one) is waited for."""


class StoreClosed(RuntimeError):
    """The store is not open (not yet, or no longer)."""


async def settle(limiter: anyio.CapacityLimiter) -> None:
    """Wait until no work running under ``limiter`` is left. A store calls it when it closes,
    before disposing of the engine that work uses: a connection still checked out at that
    moment would go back to a pool nobody closes, and stay open until collected. Work that
    waited for a token meanwhile runs after this returns: it must see that the store is closed
    (and not connect) by itself."""
    borrowers = [object() for _ in range(int(limiter.total_tokens))]
    for borrower in borrowers:
        await limiter.acquire_on_behalf_of(borrower)
    for borrower in borrowers:
        limiter.release_on_behalf_of(borrower)


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (as opposed to a failed statement):
    a connection lost or refused. A cancelled statement (timeout) is not."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        orig = exc.orig
        module = type(orig).__module__ if orig is not None else ""
        if module.startswith("psycopg"):
            return not isinstance(orig, psycopg.errors.QueryCanceled) and not conflicted(exc)
    return False


def conflicted(exc: BaseException) -> bool:
    """Whether ``exc`` says the transaction lost a conflict with another one (a deadlock, a
    serialization failure): the database rolled it back and the same transaction may simply run
    again."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    sqlstate = orig.sqlstate if isinstance(orig, psycopg.Error) else None
    return sqlstate is not None and sqlstate.startswith("40")  # class 40: transaction rollback


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def is_postgresql(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def create(
    url: URL,
    *,
    pool_size: int,
    synchronous: str = "FULL",
    read_only: bool = False,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    connect_timeout: int = CONNECT_TIMEOUT_S,
) -> Engine:
    """An engine whose every connection is set up for the store (no I/O happens here)."""
    options: dict[str, Any] = {
        "json_serializer": codec.serialize,
        "json_deserializer": codec.deserialize,
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_pre_ping": False,
    }
    if is_sqlite(url):
        if sqlite_path(url) is None:
            raise ValueError("SqlStore needs a SQLite file; in-memory databases are per connection")
        # Pooled connections move between reader threads; each is used by one thread at a time.
        options["connect_args"] = {"check_same_thread": False}
    elif is_postgresql(url):
        if url.get_driver_name() != "psycopg":
            raise ValueError("PostgreSQL URLs use psycopg 3: postgresql+psycopg://...")
        # A server that restarted (or a connection a proxy dropped) is noticed on checkout, not
        # by the query; connections are renewed before servers or proxies time them out.
        options["pool_pre_ping"] = True
        options["pool_recycle"] = 1800
        options["pool_timeout"] = connect_timeout
        startup = f"-c statement_timeout={int(statement_timeout_ms)}"
        if read_only:
            startup += " -c default_transaction_read_only=on"
        options["connect_args"] = {
            "connect_timeout": connect_timeout,
            "application_name": "routilux",
            "options": startup,
        }
    engine = create_engine(url, **options)
    if is_sqlite(url):
        _setup_sqlite(engine, synchronous=synchronous, read_only=read_only)
    return engine


@contextmanager
def transaction(conn: Connection, *, waited: bool) -> Iterator[None]:
    """A transaction of the store's writer. Only one that someone waits for (``waited``) waits
    at its commit for the log to reach the disk; the others (written behind: checkpoints,
    events) commit at once. The log is written in order, so the next waited commit takes every
    commit before it to the disk with its own: what was reported committed, and everything
    written before it, survives a power cut; a crash of the process alone loses nothing
    committed either way. PostgreSQL: ``synchronous_commit`` off for the transaction; SQLite
    (WAL): at most ``NORMAL`` (no sync at commit) rather than the configured level."""
    if conn.dialect.name == "sqlite":
        info = conn.info
        configured = info.get("synchronous", "FULL")
        level = configured if waited else min(configured, "NORMAL", key=SQLITE_SYNCHRONOUS.index)
        if info.get("synchronous_now", configured) != level:
            # Outside any transaction (SQLite refuses the change inside one).
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute(f"PRAGMA synchronous={level}")
            info["synchronous_now"] = level
        with conn.begin():
            yield
        return
    with conn.begin():
        if not waited and conn.dialect.name == "postgresql":
            conn.execute(_ASYNC_COMMIT)
        yield


_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


def _setup_sqlite(engine: Engine, *, synchronous: str, read_only: bool) -> None:
    if synchronous.upper() not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite synchronous must be one of {SQLITE_SYNCHRONOUS}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # WAL: readers never block the writer nor each other. FULL syncs the WAL on every
            # commit, so what a durable call reported committed survives a power cut.
            if not read_only:
                # Takes effect only in a database that has no table yet (a new one): deleted
                # rows' pages can then be given back to the file system (retention does).
                cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
            record.info["synchronous"] = synchronous.upper()  # see transaction()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
        finally:
            cursor.close()


class DatabaseInUse(RuntimeError):
    """Another process has the SQLite database open (SQLite serves one process)."""


def lock(url: URL) -> int | None:
    """Hold ``<database>.lock`` exclusively (SQLite files only) and return its descriptor, or
    raise :class:`DatabaseInUse`. A flock: the kernel releases it when the process ends, kill -9
    included, so a crash never leaves a stale lock behind."""
    path = sqlite_path(url) if is_sqlite(url) else None
    if path is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DatabaseInUse(
            f"the SQLite database {path} is in use by another process (pid {holder}): SQLite "
            "serves one process. Stop that process, or give this one another --data-dir "
            "(several processes on one database need PostgreSQL: ROUTILUX_DATABASE_URL)."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # releases the flock


def in_use(url: str | URL) -> str | None:
    """Why a server could not open this database now (another process holds it), or None."""
    parsed = make_url(url)
    ensure_directory(parsed)
    try:
        unlock(lock(parsed))
    except DatabaseInUse as exc:
        return str(exc)
    return None


def ensure_directory(url: URL) -> None:
    path = sqlite_path(url) if is_sqlite(url) else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def upsert(connection: Connection, table: Table, keys: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column, for executemany."""
    return _upsert(connection.dialect.name, table, tuple(keys))


def fenced_upsert(connection: Connection, table: Table, keys: list[str]) -> Insert:
    """:func:`upsert`, but an existing row is updated only if its ``owner`` is the new row's:
    a replica that lost a record to another one cannot overwrite it any more."""
    return _fenced_upsert(connection.dialect.name, table, tuple(keys))


def advisory_key(name: str) -> int:
    """The key of PostgreSQL's advisory lock named ``name``: 64 bits of its hash (advisory locks
    are per database, so every name starts with ``routilux-``)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_for_transaction(connection: Connection, key: int) -> None:
    """PostgreSQL: hold the advisory lock ``key`` until the transaction ends (the other
    processes' transactions asking for it wait). SQLite: nothing, one process writes."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def insert_ignore(connection: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING, so a replayed row cannot fail a batch."""
    return _insert_ignore(connection.dialect.name, table)


# Statements are immutable: build each once. (Building an upsert's ``excluded`` columns anew for
# every group commit was a visible share of the writer thread's time.)
@functools.cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    stmt = _insert(dialect, table)
    updates = {
        c.name: stmt.excluded[c.name]
        for c in table.columns
        if c.name not in keys and not c.primary_key
    }
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)


@functools.cache
def _fenced_upsert(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    stmt = _insert(dialect, table)
    updates = {
        c.name: stmt.excluded[c.name]
        for c in table.columns
        if c.name not in keys and not c.primary_key
    }
    owner = table.c.owner.is_not_distinct_from(stmt.excluded.owner)
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates, where=owner)


@functools.cache
def _insert_ignore(dialect: str, table: Table) -> Insert:
    return _insert(dialect, table).on_conflict_do_nothing()


def _insert(name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    # Both dialects spell upserts the same way; others would need their own (MERGE, ...).
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise ValueError(f"SqlStore supports SQLite and PostgreSQL, not {name}")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code: no alembic.ini, wherever the process runs."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


MIGRATION_LOCK = 0x726F7574696C7578  # "routilux": one key of PostgreSQL's advisory locks


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (blocking; run it in a thread). On PostgreSQL,
    processes starting together migrate one at a time (a transaction-level advisory lock):
    the first brings the schema up, the others find it there."""
    with engine.begin() as connection:
        lock_for_transaction(connection, MIGRATION_LOCK)
        command.upgrade(alembic_config(connection), "head")


def parse(url: str | URL) -> URL:
    """A SQLAlchemy URL; PostgreSQL's plain ``postgresql://`` (or ``postgres://``, as many hosts
    print it) means psycopg 3, the driver the server ships with."""
    if isinstance(url, str):
        scheme, sep, rest = url.partition("://")
        if sep and scheme in ("postgres", "postgresql"):
            url = f"postgresql+psycopg://{rest}"
    return make_url(url)
