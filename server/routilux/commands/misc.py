"""``routilux routine-types``."""

from __future__ import annotations

import typer

from routilux.commands.context import remote, show


def routine_types(ctx: typer.Context) -> None:
    """List the routine types the server knows, with their slots and events."""
    from routilux_client.api.routine_types import list_routine_types
    from routilux_client.helpers import unwrap

    with remote(ctx).client() as client:
        page = unwrap(list_routine_types.sync(client=client))
    show(
        ctx,
        list(page.items),
        title="Routine types",
        columns=[
            ("name", lambda t: t.name),
            ("aliases", lambda t: ", ".join(t.aliases)),
            ("slots", lambda t: ", ".join(t.slots)),
            ("events", lambda t: ", ".join(t.events)),
            ("activation", lambda t: t.activation),
        ],
    )
