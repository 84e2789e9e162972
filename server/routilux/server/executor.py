"""``routilux serve --executor-only``: a process that executes jobs and serves no HTTP API.

It joins the deployment as a replica of role ``executor`` (engine/replicas.py), so the replicas
serving the API place jobs on it (engine/placement.py), and it takes over the jobs of replicas
that are gone as any replica does. It opens no port: the API tier and the execution tier are
scaled apart by starting more of one or the other. SIGTERM or SIGINT stops it as a server stops
(its jobs stay where their checkpoints are, and the other replicas take them over within a
heartbeat). It needs PostgreSQL: a SQLite database serves one process, which must be a server.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy.engine import make_url

from routilux.engine.interpreter_settings import prepare_process
from routilux.server.engine_setup import build_runtime, build_store
from routilux.server.logs import configure_logging, log_event
from routilux.server.settings import Settings
from routilux.store import database

log = logging.getLogger("routilux.server")

STARTUP_FAILURE = 3  # as a server that cannot start (server/serving.py)


def refusal(settings: Settings) -> str | None:
    """Why ``settings`` cannot run an executor, or None."""
    if database.is_sqlite(make_url(settings.resolved_database_url())):
        return (
            "an executor (--executor-only, ROUTILUX_EXECUTOR_ONLY) shares a PostgreSQL database "
            "with the servers that place jobs on it, and a SQLite database serves one process. "
            "Set ROUTILUX_DATABASE_URL=postgresql+psycopg://... (or --database-url), or run "
            "`routilux serve` without --executor-only."
        )
    return None


def run_executor(settings: Settings) -> int:
    """Execute jobs until SIGTERM or SIGINT; the exit status (0, or 3 if it could not start)."""
    configure_logging(settings.log_level, json=settings.log_json)
    return asyncio.run(_execute(settings))


async def _execute(settings: Settings) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    store = build_store(settings)
    try:
        await store.open()
        runtime = build_runtime(settings, store)
        await runtime.start()
    except Exception as exc:
        log.error("the executor could not start: %s", exc, exc_info=True)
        await store.close()
        return STARTUP_FAILURE
    runtime.bus.add_sink(log_event)
    prepare_process()  # as a server does once it is built (engine/interpreter_settings.py)
    # At warning level: a process that opens no port should say so whatever the log level.
    log.warning(
        "running as an executor (replica %s): executing jobs, serving no HTTP API",
        runtime.replica.replica_id,
    )
    try:
        await stopping.wait()
        log.info("the executor is stopping: its jobs resume on the other replicas")
    finally:
        try:
            await runtime.shutdown()
        finally:
            await store.close()
    return 0
