"""``routilux flows list|get|create|delete|validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer

from routilux.commands.context import Column, fail, location, plural, remote, show, show_list
from routilux_client.api.flows import create_flow, delete_flow, get_flow
from routilux_client.api.flows import list_flows as list_operation
from routilux_client.helpers import ProblemError, create_flow_yaml, iterate, unwrap
from routilux_client.models import Flow, FlowCreate

app = typer.Typer(help="Flows: the documents that wire routines together.", no_args_is_help=True)

FileOption = Annotated[
    Path,
    typer.Option("--file", "-f", exists=True, dir_okay=False, help="A flow file, YAML or JSON."),
]
FLOW_COLUMNS: list[Column[Flow]] = [
    ("flow_id", lambda f: f.flow_id),
    ("name", lambda f: f.name),
    ("routines", lambda f: len(f.routines.to_dict())),
    ("connections", lambda f: len(f.connections or [])),
    ("created_at", lambda f: f.created_at),
]


def _media_type(path: Path) -> Literal["json", "yaml"]:
    return "json" if path.suffix.lower() == ".json" else "yaml"


@app.command("list")
def list_flows(ctx: typer.Context) -> None:
    """List the server's flows, newest first."""
    with remote(ctx).client() as client:
        flows = list(iterate(list_operation.sync, client=client))
    show_list(ctx, flows, FLOW_COLUMNS, title="Flows")


@app.command()
def get(ctx: typer.Context, flow_id: str) -> None:
    """Show a flow's document."""
    with remote(ctx).client() as client:
        show(ctx, unwrap(get_flow.sync(flow_id, client=client)))


@app.command()
def create(ctx: typer.Context, file: FileOption) -> None:
    """Create a flow from a YAML or JSON file (validated by the server)."""
    from routilux.engine.documents import load_document
    from routilux.engine.errors import FlowValidationError

    text = file.read_text(encoding="utf-8")
    with remote(ctx).client() as client:
        try:
            if _media_type(file) == "yaml":
                flow = unwrap(create_flow_yaml.sync(client=client, body=text))
            else:
                document: Any = load_document(text, "json")
                body = FlowCreate.from_dict(document)
                flow = unwrap(create_flow.sync(client=client, body=body))
        except FlowValidationError as invalid:  # not even JSON: said as `validate` says it
            _report(file, [(location(e.loc), e.message) for e in invalid.errors])
        except ProblemError as problem:
            if problem.status != 422 or not problem.errors:
                raise
            _report(file, [(location(e.loc), e.msg) for e in problem.errors])
    if remote(ctx).as_json:
        show(ctx, flow)
    else:
        typer.echo(f"created flow {flow.flow_id}")


@app.command()
def delete(
    ctx: typer.Context,
    flow_id: str,
    force: Annotated[bool, typer.Option(help="Cancel its unfinished jobs first.")] = False,
) -> None:
    """Delete a flow (refused while it has unfinished jobs, unless --force)."""
    with remote(ctx).client() as client:
        unwrap(delete_flow.sync_detailed(flow_id, client=client, force=force))
    typer.echo(f"deleted flow {flow_id}")


@app.command()
def validate(file: FileOption) -> None:
    """Check a flow file locally, with the same checks as the server (exit 1 if invalid)."""
    from routilux.engine.documents import load_flow
    from routilux.engine.errors import FlowValidationError
    from routilux.engine.spec import compile_flow
    from routilux.routines import default_registry

    try:
        registry = default_registry()
        text = file.read_text(encoding="utf-8")
        spec = load_flow(text, _media_type(file), registry)
        compile_flow(spec, registry, flow_id=spec.flow_id or "flow")
    except FlowValidationError as invalid:
        _report(file, [(location(e.loc), e.message) for e in invalid.errors], code=1)
    routines = plural(len(spec.routines), "routine")
    typer.echo(f"{file}: valid ({routines}, {plural(len(spec.connections), 'connection')})")


def _report(file: Path, problems: list[tuple[str, str]], code: int = 3) -> NoReturn:
    """Each problem of a flow file on its own line, located; the same for validate and create."""
    for where, message in problems:
        typer.echo(f"{file}: {where}: {message}", err=True)
    fail(f"{file} is not a valid flow ({plural(len(problems), 'problem')})", code=code)
