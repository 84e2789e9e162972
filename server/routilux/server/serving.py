"""Running the app under uvicorn, with a shutdown that tells event-stream clients it is going away.

uvicorn closes open WebSockets with 1012 (service restart) when it stops, before the app's
lifespan ends. A stopping server is "going away" (1001), so its clients are closed first, here.
"""

from __future__ import annotations

import logging
import resource
import socket

import uvicorn
from fastapi import FastAPI

from routilux.engine.interpreter_settings import prepare_process
from routilux.server.connections import BoundedConfig
from routilux.server.logs import configure_logging
from routilux.server.settings import Settings
from routilux.server.ws import ConnectionHub

STARTUP_FAILURE = 3  # uvicorn's exit status when it cannot start (a port in use, say)
# uvicorn otherwise waits for every connection to close, and one to a client that does not read
# never does (its unsent data keeps it open): past this, what is left is cancelled.
KEEP_ALIVE = 15
GRACEFUL_SHUTDOWN = 10
# A client message is at most 16,384 characters (ws/protocol.py): 64 KiB holds any of them in
# UTF-8; uvicorn would otherwise buffer up to 16 MiB per message.
WS_MAX_MESSAGE_BYTES = 65_536
# Descriptors kept for what is not a client connection (the database, logs, the listener).
RESERVED_DESCRIPTORS = 64

log = logging.getLogger("routilux.server")


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, hub: ConnectionHub) -> None:
        super().__init__(config)
        self.hub = hub

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.hub.close_all()
        await super().shutdown(sockets)


def connection_limit(configured: int) -> int:
    """``configured``, or fewer if the process may not open that many descriptors: past that
    limit the server could accept nothing at all (not even its health checks)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft - RESERVED_DESCRIPTORS >= configured:
        return configured
    limit = max(1, soft - RESERVED_DESCRIPTORS)
    log.warning(
        "max_connections lowered from %d to %d: the process may open %d files (ulimit -n)",
        configured,
        limit,
        soft,
    )
    return limit


def run(app: FastAPI, settings: Settings) -> int:
    """Serve ``app`` until a signal stops it; the exit status (0, or 3 if it could not start)."""
    configure_logging(settings.log_level, json=settings.log_json)
    config = BoundedConfig(
        app,
        max_header_bytes=settings.max_header_bytes,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=connection_limit(settings.max_connections),
        max_connections_per_client=settings.max_connections_per_client,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Our handler formats uvicorn's lines too; the gate writes the one line per request.
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # Longer than clients keep idle connections (httpx: 5 s), so that the client, not the
        # server, ends an idle connection: a request sent on one the server is closing fails.
        timeout_keep_alive=KEEP_ALIVE,
    )
    server = Server(config, app.state.ws_hub)
    # What exists now (modules, the app and its schemas) lives as long as the process: take it
    # out of the garbage collector's sight, so that a full collection walks only what requests
    # and jobs allocate. It walked some 125,000 such objects, a pause of tens of ms each time.
    prepare_process()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0 if server.started else STARTUP_FAILURE
