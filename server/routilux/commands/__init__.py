"""The ``routilux`` commands that talk to a server, built on the generated client."""

from __future__ import annotations

import typer

from routilux.commands import breakpoints, flows, jobs, logs, misc, revisions, workers
from routilux.commands.context import connection_options


def register(app: typer.Typer) -> None:
    app.callback()(connection_options)
    revisions.register(flows.app)
    logs.register(jobs.app)
    app.add_typer(flows.app, name="flows")
    app.add_typer(jobs.app, name="jobs")
    app.add_typer(workers.app, name="workers")
    app.add_typer(breakpoints.app, name="breakpoints")
    app.command("run")(jobs.run)
    app.command("routine-types")(misc.routine_types)
