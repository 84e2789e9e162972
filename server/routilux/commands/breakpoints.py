"""``routilux breakpoints list|add|rm|resume``."""

from __future__ import annotations

from typing import Annotated

import typer

from routilux.commands.context import Column, remote, show, show_list
from routilux_client.api.breakpoints import (
    create_breakpoint,
    delete_breakpoint,
    resume_breakpoint,
)
from routilux_client.api.breakpoints import (
    list_breakpoints as list_operation,
)
from routilux_client.helpers import iterate, unwrap
from routilux_client.models import Breakpoint, BreakpointCreate, BreakpointResume
from routilux_client.types import UNSET

app = typer.Typer(help="Breakpoints: pause jobs before a routine runs.", no_args_is_help=True)

COLUMNS: list[Column[Breakpoint]] = [
    ("breakpoint_id", lambda b: b.breakpoint_id),
    ("flow_id", lambda b: b.flow_id),
    ("routine", lambda b: b.routine_id + (f".{b.slot}" if b.slot else "")),
    ("condition", lambda b: b.condition),
    ("hits", lambda b: b.hit_count),
    ("waiting", lambda b: ", ".join(b.waiting_jobs)),
]


@app.command("list")
def list_breakpoints(
    ctx: typer.Context,
    flow: Annotated[str | None, typer.Option(help="Only this flow's.")] = None,
) -> None:
    """List breakpoints, with their hit counts and the jobs waiting at them."""
    with remote(ctx).client() as client:
        found = list(iterate(list_operation.sync, client=client, flow_id=flow or UNSET))
    show_list(ctx, found, COLUMNS, title="Breakpoints")


@app.command()
def add(
    ctx: typer.Context,
    flow: Annotated[str, typer.Option(help="The flow.")],
    routine: Annotated[str, typer.Option(help="Pause before this routine runs.")],
    slot: Annotated[str | None, typer.Option(help="Only data entering this slot.")] = None,
    job: Annotated[str | None, typer.Option(help="Only this job.")] = None,
    condition: Annotated[
        str | None, typer.Option(help='A CEL condition on the payload, e.g. "data.age > 60".')
    ] = None,
) -> None:
    """Add a breakpoint."""
    body = BreakpointCreate(
        flow_id=flow,
        routine_id=routine,
        slot=slot or UNSET,
        job_id=job or UNSET,
        condition=condition or UNSET,
    )
    with remote(ctx).client() as client:
        created = unwrap(create_breakpoint.sync(client=client, body=body))
    if remote(ctx).as_json:
        show(ctx, created)
    else:
        typer.echo(f"added breakpoint {created.breakpoint_id}")


@app.command()
def rm(ctx: typer.Context, breakpoint_id: str) -> None:
    """Remove a breakpoint; jobs waiting at it continue."""
    with remote(ctx).client() as client:
        unwrap(delete_breakpoint.sync_detailed(breakpoint_id, client=client))
    typer.echo(f"removed breakpoint {breakpoint_id}")


@app.command()
def resume(
    ctx: typer.Context,
    breakpoint_id: str,
    job: Annotated[str | None, typer.Option(help="Only this job (default: all waiting).")] = None,
) -> None:
    """Resume the jobs waiting at a breakpoint."""
    with remote(ctx).client() as client:
        resumed = unwrap(
            resume_breakpoint.sync(
                breakpoint_id, client=client, body=BreakpointResume(job_id=job or UNSET)
            )
        )
    if remote(ctx).as_json:
        show(ctx, resumed)
    else:
        typer.echo(f"resumed {', '.join(resumed.resumed_jobs)}")
