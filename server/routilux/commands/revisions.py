"""``routilux flows update|revisions|diff``: change a flow, and read what it was."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from routilux.commands.context import fail, plural, remote, stamp, to_data
from routilux.jsonutil import dumps_str
from routilux_client.api.flows import get_flow, list_flow_revisions, update_flow
from routilux_client.helpers import unwrap, update_flow_yaml
from routilux_client.models import FlowCreate
from routilux_client.types import UNSET, Unset

# The server's bookkeeping: left out when two documents are compared.
BOOKKEEPING = ("revision", "created_at", "updated_at")


def _is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def _document_of(path: Path) -> dict[str, Any]:
    from routilux.engine.documents import load_document
    from routilux.engine.errors import FlowValidationError

    kind: Literal["json", "yaml"] = "json" if _is_json(path) else "yaml"
    try:
        document = load_document(path.read_text(encoding="utf-8"), kind)
    except FlowValidationError as invalid:
        fail(f"{path}: {invalid.errors[0].message}", code=2)
    if not isinstance(document, dict):
        fail(f"{path}: a flow document is a mapping", code=2)
    return document


def update(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Option(
            "--file", "-f", exists=True, dir_okay=False, help="A flow file, YAML or JSON."
        ),
    ],
    flow_id: Annotated[
        str | None, typer.Argument(help="The flow to change; by default the file's flow_id.")
    ] = None,
    if_match: Annotated[
        str | None,
        typer.Option("--if-match", help="Only if the flow's ETag is still this (else refused)."),
    ] = None,
) -> None:
    """Replace a flow's document with a file: a new revision (running jobs keep theirs)."""
    document = _document_of(file)
    target_id = flow_id or document.get("flow_id")
    if not isinstance(target_id, str) or not target_id:
        raise typer.BadParameter("the file has no flow_id: name the flow to update")
    condition = if_match or UNSET
    with remote(ctx).client() as client:
        if _is_json(file):
            try:
                body = FlowCreate.from_dict(document)
            except (KeyError, TypeError, ValueError) as error:
                fail(f"{file}: not a flow document ({error!r}); see `routilux flows validate`", 2)
            flow = unwrap(update_flow.sync(target_id, client=client, body=body, if_match=condition))
        else:
            # Sent as written: the server's error locations point into the YAML.
            flow = unwrap(
                update_flow_yaml.sync(
                    target_id, client=client, body=file.read_bytes(), if_match=condition
                )
            )
    if remote(ctx).as_json:
        sys.stdout.write(dumps_str(to_data(flow), indent=True) + "\n")
    else:
        typer.echo(f"updated flow {flow.flow_id}: revision {flow.revision}")


def revisions(
    ctx: typer.Context,
    flow_id: str,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 20,
) -> None:
    """List a flow's revisions, newest first."""
    with remote(ctx).client() as client:
        page = unwrap(list_flow_revisions.sync(flow_id, client=client, limit=limit))
    if remote(ctx).as_json:
        sys.stdout.write(dumps_str(to_data(page.items), indent=True) + "\n")
        return
    typer.echo(f"{'revision':>8}  {'updated_at':<27}  shape")
    for item in page.items:
        connections = item.connections or []
        shape = (
            f"{plural(len(item.routines.additional_properties), 'routine')}, "
            f"{plural(len(connections), 'connection')}"
        )
        typer.echo(f"{item.revision:>8}  {stamp(item.updated_at):<27}  {shape}")
    if page.total > len(page.items):
        typer.echo(f"({page.total} revisions in all; --limit shows more)", err=True)


def diff(
    ctx: typer.Context,
    flow_id: str,
    old: Annotated[
        int | None, typer.Option("--from", min=1, help="A revision; by default the previous one.")
    ] = None,
    new: Annotated[
        int | None, typer.Option("--to", min=1, help="A revision; by default the current one.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", exists=True, dir_okay=False, help="Compare the flow with this file."
        ),
    ] = None,
) -> None:
    """Show what changed between two revisions of a flow, or between the flow and a file."""
    with remote(ctx).client() as client:

        def at(revision: int | Unset) -> dict[str, Any]:
            found: dict[str, Any] = to_data(
                unwrap(get_flow.sync(flow_id, client=client, revision=revision))
            )
            return found

        current = at(UNSET)

        if file is not None:
            before, after = current, {"flow_id": flow_id, **_document_of(file)}
            names = (f"{flow_id}@{current['revision']}", str(file))
        else:
            to = new or current["revision"]
            start = old or to - 1
            if start < 1:
                fail(f"flow {flow_id} has a single revision: nothing to compare", code=2)
            before, after = at(start), current if to == current["revision"] else at(to)
            names = (f"{flow_id}@{start}", f"{flow_id}@{to}")
    lines = list(difflib.unified_diff(_lines(before), _lines(after), *names, lineterm="", n=3))
    for line in lines:
        typer.echo(line)
    if not lines:
        typer.echo("no difference", err=True)


def _lines(document: dict[str, Any]) -> list[str]:
    """The document as the server would store it (defaults filled in), without bookkeeping."""
    from routilux.engine.spec import FlowSpec

    kept = {k: v for k, v in document.items() if k not in BOOKKEEPING}
    try:
        kept = FlowSpec.model_validate(kept).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    except ValueError:
        pass  # the server will say what is wrong; compare the text as it is
    return dumps_str(kept, indent=True, sort_keys=True).splitlines()


def register(app: typer.Typer) -> None:
    app.command()(update)
    app.command()(revisions)
    app.command()(diff)
