"""The ``routilux`` command: its root options and every subcommand."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from routilux import __version__
from routilux.commands import breakpoints, flows, jobs, logs, revisions, routine_types, workers
from routilux.commands.context import connection_options
from routilux.commands.migrate import migrate
from routilux.commands.serve import serve

ROOT_FLAGS = ("--json",)


class RootGroup(TyperGroup):
    """``--json`` is the root's option, yet works after the subcommand too
    (``routilux jobs get ID --json``): it is moved in front before parsing."""

    # ``ctx`` is the context class of the click copy inside typer, which typer does not export.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        head, tail = args[:end], args[end:]
        flags = [arg for arg in head if arg in ROOT_FLAGS]
        rest = [arg for arg in head if arg not in ROOT_FLAGS]
        return super().parse_args(ctx, [*dict.fromkeys(flags), *rest, *tail])


app = typer.Typer(
    cls=RootGroup,
    name="routilux",
    help="Routilux: run event-driven workflows, and talk to a Routilux server.",
    no_args_is_help=True,
    add_completion=False,
)
app.callback()(connection_options)
app.command()(serve)
app.command()(migrate)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


revisions.register(flows.app)
logs.register(jobs.app)
app.add_typer(flows.app, name="flows")
app.add_typer(jobs.app, name="jobs")
app.add_typer(workers.app, name="workers")
app.add_typer(breakpoints.app, name="breakpoints")
app.command("run")(jobs.run)
app.command("routine-types")(routine_types.routine_types)


def main() -> None:
    sys.exit(app())
