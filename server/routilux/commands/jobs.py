"""``routilux run`` and ``routilux jobs list|get|cancel|watch``."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from routilux.commands.context import (
    EXIT_JOB_FAILED,
    Column,
    parse_json_argument,
    remote,
    show,
    show_list,
    to_data,
)
from routilux.jsonutil import dumps_str
from routilux_client.api.flows import execute_flow
from routilux_client.api.jobs import cancel_job, get_job, list_job_events, retry_job
from routilux_client.api.jobs import list_jobs as list_operation
from routilux_client.helpers import TERMINAL_JOB_EVENTS, RoutiluxClient, stream_events, unwrap
from routilux_client.models import Event, Job, JobExecute, JobExecuteData, JobStatus
from routilux_client.types import UNSET

EXIT_INTERRUPTED = 130

app = typer.Typer(help="Jobs: runs of flows.", no_args_is_help=True)

JOB_COLUMNS: list[Column[Job]] = [
    ("job_id", lambda j: j.job_id),
    ("flow_id", lambda j: j.flow_id),
    ("status", lambda j: j.status),
    ("created_at", lambda j: j.created_at),
    ("finished_at", lambda j: j.finished_at),
]
EVENT_COLUMNS: list[Column[Event]] = [
    ("id", lambda e: e.id),
    ("time", lambda e: e.timestamp),
    ("type", lambda e: e.type_),
    ("routine_id", lambda e: e.routine_id),
    ("data", lambda e: dumps_str(to_data(e.data))),
]
SYMBOLS = {
    "routine.started": "▶",
    "routine.completed": "✓",
    "routine.failed": "✗",
    "routine.retrying": "↻",
    "routine.skipped": "·",
    "breakpoint.hit": "⏸",
}


def describe(event: Event) -> str | None:
    """One human line for the events a person watching a job cares about."""
    kind = event.type_.value
    data = event.data.to_dict()
    if kind in SYMBOLS:
        detail = ""
        if kind in ("routine.failed", "routine.retrying") and "message" in data:
            detail = f": {data['message']}"
        if kind == "breakpoint.hit":
            detail = (
                f" at breakpoint {data.get('breakpoint_id')} with {dumps_str(data.get('payload'))}"
            )
        return f"{SYMBOLS[kind]} {event.routine_id} {kind.split('.')[1]}{detail}"
    if kind.startswith("job."):
        return f"job {kind.split('.')[1]}"
    return None


def finish(ctx: typer.Context, job: Job) -> None:
    """Print a finished job's outcome; exit 1 unless it completed."""
    if remote(ctx).as_json:
        show(ctx, job)
    elif job.status == JobStatus.COMPLETED:
        sys.stdout.write(dumps_str(to_data(job.output), indent=True) + "\n")
    elif job.status == JobStatus.CANCELLED:
        typer.echo(f"job {job.job_id} was cancelled", err=True)
    else:
        error = to_data(job.error) if job.error else {}
        reason = error.get("message") or error.get("code") or "no reason given"
        typer.echo(f"job {job.job_id} {job.status.value}: {reason}", err=True)
    if job.status != JobStatus.COMPLETED:
        raise typer.Exit(EXIT_JOB_FAILED)


async def follow(client: RoutiluxClient, job_id: str, *, quiet: bool) -> Job:
    """Print the job's progress from the event stream until it ends; return the final job."""
    async with stream_events(client, job_id=job_id, since=0) as events:
        async for event in events:
            line = describe(event)
            if line and not quiet:
                typer.echo(line, err=True)
            if event.type_ in TERMINAL_JOB_EVENTS:
                break
    return unwrap(await get_job.asyncio(job_id, client=client))


def run(
    ctx: typer.Context,
    flow_id: str,
    input_: Annotated[
        str, typer.Option("--input", "-i", help="The job's data: JSON, or @file.json.")
    ] = "{}",
    entry: Annotated[str | None, typer.Option(help="routine.slot where the data enters.")] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the job and print its output.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the job.")] = 300,
) -> None:
    """Run a flow on an input; by default show its progress and print its output."""
    data = parse_json_argument(input_, "--input")
    if not isinstance(data, dict):
        raise typer.BadParameter("--input must be a JSON object")
    target = remote(ctx)

    started: list[str] = []

    async def go() -> Job:
        async with target.connect() as client:
            body = JobExecute(data=JobExecuteData.from_dict(data), entry=entry or UNSET)
            job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=body))
            started.append(job.job_id)
            if not wait:
                return job
            if not target.as_json:
                typer.echo(f"job {job.job_id} on worker {job.worker_id}", err=True)
            async with asyncio.timeout(timeout):
                return await follow(client, job.job_id, quiet=target.as_json)

    try:
        with target.errors():
            job = asyncio.run(go())
    except KeyboardInterrupt:
        if started:
            job_id = started[0]
            typer.echo(
                f"\ninterrupted: job {job_id} keeps running on the server; follow it with "
                f"`routilux jobs watch {job_id}`, stop it with `routilux jobs cancel {job_id}`",
                err=True,
            )
        else:
            typer.echo("\ninterrupted before the job was created", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if wait:
        finish(ctx, job)
    elif target.as_json:
        show(ctx, job)
    else:
        typer.echo(job.job_id)


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    flow: Annotated[str | None, typer.Option(help="Only this flow's jobs.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 20,
) -> None:
    """List jobs, newest first."""
    try:
        statuses = [JobStatus(s) for s in status] if status else UNSET
    except ValueError:
        valid = [member.value for member in JobStatus]
        bad = next(s for s in status or () if s not in valid)
        raise typer.BadParameter(
            f"{bad!r} is not a job status; use one of: {', '.join(valid)}",
            param_hint="--status",
        ) from None
    with remote(ctx).client() as client:
        page = unwrap(
            list_operation.sync(client=client, flow_id=flow or UNSET, status=statuses, limit=limit)
        )
    show_list(ctx, page.items, JOB_COLUMNS, title=f"Jobs ({page.total} in all)")


@app.command()
def get(ctx: typer.Context, job_id: str) -> None:
    """Show a job: status, input, output, error and progress."""
    with remote(ctx).client() as client:
        show(ctx, unwrap(get_job.sync(job_id, client=client)))


@app.command()
def cancel(ctx: typer.Context, job_id: str) -> None:
    """Cancel a job."""
    with remote(ctx).client() as client:
        job = unwrap(cancel_job.sync(job_id, client=client))
    if remote(ctx).as_json:
        show(ctx, job)
    else:
        typer.echo(f"job {job.job_id} {job.status.value}")


@app.command()
def retry(ctx: typer.Context, job_id: str) -> None:
    """Retry a failed job from its last checkpoint: what failed runs again."""
    with remote(ctx).client() as client:
        job = unwrap(retry_job.sync(job_id, client=client))
    if remote(ctx).as_json:
        show(ctx, job)
    else:
        typer.echo(
            f"job {job.job_id} {job.status.value}; follow it with: routilux jobs watch {job.job_id}"
        )


@app.command()
def watch(
    ctx: typer.Context,
    job_id: str,
    timeout: Annotated[float, typer.Option(help="Seconds to watch at most.")] = 300,
) -> None:
    """Follow a job's events until it ends (from its start), then print its output."""
    target = remote(ctx)

    async def go() -> Job:
        async with target.connect() as client, asyncio.timeout(timeout):
            # First contact fails fast: a mistyped --url or job id is reported at once; the
            # event stream retries (for 30 s) only a server that goes away mid-watch.
            unwrap(await get_job.asyncio(job_id, client=client))
            return await follow(client, job_id, quiet=target.as_json)

    with target.errors():
        job = asyncio.run(go())
    finish(ctx, job)


@app.command()
def events(
    ctx: typer.Context,
    job_id: str,
    after: Annotated[int, typer.Option(min=0, help="Only events with a greater id.")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="How many at most, oldest first.")] = 1000,
) -> None:
    """List a job's events in order: what happened, routine by routine."""
    found: list[Event] = []
    with remote(ctx).client() as client:
        while len(found) < limit:
            page = unwrap(
                list_job_events.sync(
                    job_id, client=client, after=after, limit=min(1000, limit - len(found))
                )
            )
            found.extend(page.items)
            if page.next_after is None:
                break
            after = page.next_after
    show_list(ctx, found, EVENT_COLUMNS, title=f"Events of {job_id}")
