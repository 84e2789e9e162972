"""``routilux jobs logs JOB [--follow]``: what the job's routines logged."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from routilux.commands.context import remote, stamp, to_data
from routilux.jsonutil import dumps_str
from routilux_client.api.jobs import get_job, list_job_logs
from routilux_client.helpers import FINISHED, unwrap
from routilux_client.models import JobLog, JobStatus, LogLevel

LEVELS = ("debug", "info", "warning", "error", "critical")
FOLLOW_WAIT = 2.0  # seconds of each long poll while following: how soon new lines show


def line(entry: JobLog) -> str:
    """``time LEVEL routine#activation[.attempt] logger: message`` (and the traceback)."""
    where = entry.routine_id or "-"
    if entry.activation is not None:
        where += f"#{entry.activation}"
        if entry.attempt and entry.attempt > 1:
            where += f".{entry.attempt}"
    text = f"{stamp(entry.time)} {entry.level.value.upper():<8} {where} {entry.logger}: "
    text += entry.message
    if entry.exception:
        text += "\n" + entry.exception
    return text


def logs(
    ctx: typer.Context,
    job_id: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep printing new lines until the job ends.")
    ] = False,
    level: Annotated[str, typer.Option(help=f"The lowest level shown: {', '.join(LEVELS)}.")] = (
        "debug"
    ),
    timeout: Annotated[float, typer.Option(help="Seconds to follow at most.")] = 3600,
) -> None:
    """Print what a job's routines logged; --follow keeps going until the job ends."""
    if level not in LEVELS:
        raise typer.BadParameter(
            f"{level!r} is not one of {', '.join(LEVELS)}", param_hint="--level"
        )
    target = remote(ctx)
    after = 0
    deadline = time.monotonic() + timeout
    with target.client() as client:
        while True:
            while True:
                page = unwrap(
                    list_job_logs.sync(
                        job_id, client=client, after=after, limit=1000, level=LogLevel(level)
                    )
                )
                for entry in page.items:
                    if target.as_json:
                        sys.stdout.write(dumps_str(to_data(entry)) + "\n")  # one per line
                    else:
                        typer.echo(line(entry))
                    after = entry.id
                sys.stdout.flush()
                if page.next_after is None:
                    break
            if not follow:
                return
            # The long poll paces the loop: it answers when the job ends (or pauses), or after a
            # moment with nothing new; the lines logged meanwhile come with the next page.
            wait = max(0.0, min(FOLLOW_WAIT, deadline - time.monotonic()))
            job = unwrap(get_job.sync(job_id, client=client, wait=round(wait, 3)))
            if job.status in FINISHED:
                follow = False  # one more page: the lines logged before the end
            elif time.monotonic() >= deadline:
                typer.echo(f"job {job_id} is still {job.status.value} after {timeout} s", err=True)
                return
            elif job.status == JobStatus.PAUSED:
                time.sleep(FOLLOW_WAIT)  # a paused job answers the long poll at once


def register(app: typer.Typer) -> None:
    app.command()(logs)
