"""``routilux workers list|pause|resume``."""

from __future__ import annotations

from typing import Protocol

import typer

from routilux.commands.context import Column, remote, show, show_list
from routilux_client.api.workers import list_workers as list_operation
from routilux_client.api.workers import pause_worker, resume_worker
from routilux_client.helpers import RoutiluxClient, iterate, unwrap
from routilux_client.models import Problem, Worker

app = typer.Typer(help="Workers: each flow's job executor.", no_args_is_help=True)

WORKER_COLUMNS: list[Column[Worker]] = [
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


class WorkerAction(Protocol):
    """An operation on one worker that answers with it: ``pause_worker.sync``, ..."""

    def __call__(self, worker_id: str, *, client: RoutiluxClient) -> Worker | Problem | None: ...


@app.command("list")
def list_workers(ctx: typer.Context) -> None:
    """List workers with their counters."""
    with remote(ctx).client() as client:
        workers = list(iterate(list_operation.sync, client=client))
    show_list(ctx, workers, WORKER_COLUMNS, title="Workers")


@app.command()
def pause(ctx: typer.Context, worker_id: str) -> None:
    """Pause a worker: no routine of its jobs starts until it is resumed."""
    _change(ctx, pause_worker.sync, worker_id)


@app.command()
def resume(ctx: typer.Context, worker_id: str) -> None:
    """Resume a paused worker."""
    _change(ctx, resume_worker.sync, worker_id)


def _change(ctx: typer.Context, operation: WorkerAction, worker_id: str) -> None:
    """Call a worker action and show the worker it returns (a one-row table, or JSON)."""
    with remote(ctx).client() as client:
        worker = unwrap(operation(worker_id, client=client))
    if remote(ctx).as_json:
        show(ctx, worker)
    else:
        show_list(ctx, [worker], WORKER_COLUMNS)
