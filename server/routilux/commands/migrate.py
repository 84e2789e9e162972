"""``routilux migrate``: bring a database's schema to this version, then exit."""

from __future__ import annotations

import typer

from routilux.commands.serve import DatabaseUrl, DataDir


def migrate(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Migrate the database to this version's schema (servers do it as they start; run it once
    before starting many)."""
    from sqlalchemy.exc import SQLAlchemyError

    from routilux.server import Settings
    from routilux.store import database

    overrides = {"data_dir": data_dir, "database_url": database_url}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    url = database.parse(settings.resolved_database_url())
    database.ensure_directory(url)
    engine = database.create(url, pool_size=1)
    try:
        database.migrate(engine)
    except SQLAlchemyError as exc:
        typer.echo(f"could not migrate {url.render_as_string()}: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"the schema of {url.render_as_string()} is up to date")
