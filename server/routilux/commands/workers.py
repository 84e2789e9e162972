"""``routilux workers list|pause|resume``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from routilux.commands.context import remote, show

app = typer.Typer(help="Workers: each flow's job executor.", no_args_is_help=True)

WORKER_COLUMNS = [
    ("worker_id", lambda w: w.worker_id),
    ("flow_id", lambda w: w.flow_id),
    ("status", lambda w: w.status),
    (
        "jobs",
        lambda w: (
            f"{w.active_jobs} active, {w.queued_jobs} queued, "
            f"{w.jobs_processed} done, {w.jobs_failed} failed"
        ),
    ),
]


@app.command("list")
def list_workers(ctx: typer.Context) -> None:
    """List workers with their counters."""
    from routilux_client.api.workers import list_workers as operation
    from routilux_client.helpers import iterate

    with remote(ctx).client() as client:
        workers = list(iterate(operation.sync, client=client))
    show(ctx, workers, columns=WORKER_COLUMNS, title="Workers")


@app.command()
def pause(ctx: typer.Context, worker_id: str) -> None:
    """Pause a worker: no routine of its jobs starts until it is resumed."""
    from routilux_client.api.workers import pause_worker

    _change(ctx, pause_worker.sync, worker_id)


@app.command()
def resume(ctx: typer.Context, worker_id: str) -> None:
    """Resume a paused worker."""
    from routilux_client.api.workers import resume_worker

    _change(ctx, resume_worker.sync, worker_id)


def _change(ctx: typer.Context, operation: Callable[..., Any], worker_id: str) -> None:
    """Call a worker action and show the worker it returns (a one-row table, or JSON)."""
    from routilux_client.helpers import unwrap

    with remote(ctx).client() as client:
        worker = unwrap(operation(worker_id, client=client))
    if remote(ctx).as_json:
        show(ctx, worker)
    else:
        show(ctx, [worker], columns=WORKER_COLUMNS)
