"""``routilux routine-types``."""

from __future__ import annotations

from typing import Any

import typer

from routilux.commands.context import Column, remote, show_list
from routilux.jsonutil import dumps_str
from routilux_client.api.routine_types import list_routine_types
from routilux_client.helpers import unwrap
from routilux_client.models import RoutineType

COLUMNS: list[Column[RoutineType]] = [
    ("name", lambda t: t.name),
    ("aliases", lambda t: ", ".join(t.aliases)),
    ("slots", lambda t: ", ".join(t.slots)),
    ("events", lambda t: ", ".join(t.events)),
    ("activation", lambda t: t.activation),
    ("config", lambda t: config_summary(t.config_schema.to_dict())),
]


def routine_types(ctx: typer.Context) -> None:
    """List the routine types the server knows: slots, events and config fields (* required)."""
    with remote(ctx).client() as client:
        page = unwrap(list_routine_types.sync(client=client))
    show_list(ctx, page.items, COLUMNS, title="Routine types")


def config_summary(schema: dict[str, Any]) -> str:
    """A config's fields, one per line: ``name: type = default``; required ones marked ``*``."""
    required = set(schema.get("required", []))
    lines = []
    for name, field in schema.get("properties", {}).items():
        kind = field.get("type") or " | ".join(
            str(branch.get("type", "object")) for branch in field.get("anyOf", [])
        )
        line = f"{name}{'*' if name in required else ''}: {kind or 'any'}"
        if "default" in field:
            line += f" = {dumps_str(field['default'])}"
        lines.append(line)
    return "\n".join(lines) or "-"
