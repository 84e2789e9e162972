"""``routilux serve``: the server itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Where the database is: ``serve`` and ``migrate`` take the same two options.
DataDir = Annotated[
    Path | None, typer.Option(help="Folder of the embedded SQLite database [data].")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="SQLAlchemy database URL (overrides --data-dir).")
]


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [8000].")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="An accepted API key (repeatable).")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning, error.")] = None,
    executor_only: Annotated[
        bool,
        typer.Option(
            "--executor-only",
            help="Execute jobs only, with no HTTP API, next to servers on the same PostgreSQL "
            "database.",
        ),
    ] = False,
) -> None:
    """Start the HTTP server (configuration also from ROUTILUX_* variables), or an executor."""
    # Imported here: the server's stack (FastAPI, SQLAlchemy, the engine) takes a second or two
    # to import, which every other command, talking to a server, would pay for nothing.
    from pydantic import ValidationError

    from routilux.server import Settings, create_app
    from routilux.server.serving import run
    from routilux.store import database

    overrides: dict[str, object] = {
        name: value
        for name, value in {
            "host": host,
            "port": port,
            "data_dir": data_dir,
            "database_url": database_url,
            "api_keys": api_key,
            "log_level": log_level,
            "executor_only": executor_only or None,  # unset: ROUTILUX_EXECUTOR_ONLY decides
        }.items()
        if value is not None
    }
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:  # no keys off loopback, or a value out of range
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            typer.echo(f"{where}: {error['msg']}" if where else error["msg"], err=True)
        raise typer.Exit(2) from None
    if settings.executor_only:
        from routilux.server.executor import refusal, run_executor

        refused = refusal(settings)
        if refused:
            typer.echo(f"refusing to start: {refused}", err=True)
            raise typer.Exit(1)
        status = run_executor(settings)
        if status:
            raise typer.Exit(status)
        return
    in_use = database.in_use(settings.resolved_database_url())
    if in_use:
        typer.echo(f"refusing to start: {in_use}", err=True)
        raise typer.Exit(1)
    # Not uvicorn.run: its shutdown would close WebSocket clients with 1012, not 1001.
    status = run(create_app(settings), settings)
    if status:
        raise typer.Exit(status)
