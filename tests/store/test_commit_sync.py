"""The writer's transactions: only one that someone waits for waits at its commit for the log to
reach the disk (SQLite: the configured ``synchronous``; PostgreSQL: ``synchronous_commit``);
those written behind commit at once."""

from __future__ import annotations

from sqlalchemy import Connection, text

from routilux.store import database

SQLITE_LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def sync_level(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        assert driver is not None
        return SQLITE_LEVELS[driver.execute("PRAGMA synchronous").fetchone()[0]]
    return str(conn.execute(text("SHOW synchronous_commit")).scalar_one())


def test_only_a_waited_transaction_waits_for_the_disk(db_url: str) -> None:
    url = database.parse(db_url)
    path = database.sqlite_path(url) if database.is_sqlite(url) else None
    if path is not None:
        path.parent.mkdir(parents=True)
    engine = database.create(url, pool_size=1, synchronous="EXTRA")
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # the test server's own default is off
                conn.execute(text("SET synchronous_commit TO on"))
                conn.commit()
            seen = []
            for waited in (False, True, False, False, True):
                with database.transaction(conn, waited=waited):
                    conn.execute(text("SELECT 1"))
                    seen.append(sync_level(conn))
            if conn.dialect.name == "sqlite":
                assert seen == ["NORMAL", "EXTRA", "NORMAL", "NORMAL", "EXTRA"]
            else:
                assert seen == ["off", "on", "off", "off", "on"]
    finally:
        engine.dispose()
