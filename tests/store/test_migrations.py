"""The Alembic migrations create exactly the schema the code declares."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Index, MetaData, String, create_engine, inspect

from routilux.store import database, tables
from tests.store.conftest import StoreFactory


def _diff(url: str, metadata: MetaData) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


async def test_migrated_schema_matches_metadata(db_url: str, open_store: StoreFactory) -> None:
    store = await open_store()
    await store.close()
    assert _diff(db_url, tables.metadata) == []


async def test_comparison_would_see_a_difference(db_url: str, open_store: StoreFactory) -> None:
    """Guard against a vacuous pass: a changed schema does show up."""
    await open_store()
    changed = MetaData()
    for table in tables.metadata.sorted_tables:
        table.to_metadata(changed)
    jobs = changed.tables["jobs"]
    jobs.append_column(Column("extra", String(10)))
    Index("ix_jobs_extra", jobs.c.extra)
    assert len(_diff(db_url, changed)) == 2


async def test_open_is_repeatable_and_stamps_head(db_url: str, open_store: StoreFactory) -> None:
    first = await open_store()
    await first.close()
    await open_store()  # migrating an up-to-date database is a no-op
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= set(tables.metadata.tables)
            context = MigrationContext.configure(conn)
            head = ScriptDirectory.from_config(database.alembic_config()).get_current_head()
            assert context.get_current_revision() == head
    finally:
        engine.dispose()


def test_processes_migrating_an_empty_postgresql_database_together_take_turns(
    pg_database: str,
) -> None:
    url = database.parse(pg_database)
    engines = [database.create(url, pool_size=1) for _ in range(3)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def migrate(engine: Engine) -> None:
        start.wait()
        try:
            database.migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert _diff(pg_database, tables.metadata) == []


def test_the_migrate_command_brings_the_schema_up_and_can_run_again(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from routilux.commands.root import app

    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path / "data")])
        assert result.exit_code == 0, result.output
        assert "is up to date" in result.output
    assert _diff(f"sqlite:///{tmp_path / 'data' / 'routilux.db'}", tables.metadata) == []
