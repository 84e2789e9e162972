"""Running the app under uvicorn, with a shutdown that tells event-stream clients it is going away.

uvicorn closes open WebSockets with 1012 (service restart) when it stops, before the app's
lifespan ends. A stopping server is "going away" (1001), so its clients are closed first, here.
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from routilux.engine.tuning import prepare_process
from routilux.server.logs import configure_logging
from routilux.server.settings import Settings
from routilux.server.ws import ConnectionHub

STARTUP_FAILURE = 3  # uvicorn's exit status when it cannot start (a port in use, say)
# uvicorn otherwise waits for every connection to close, and one to a client that does not read
# never does (its unsent data keeps it open): past this, what is left is cancelled.
KEEP_ALIVE = 15
GRACEFUL_SHUTDOWN = 10


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, hub: ConnectionHub) -> None:
        super().__init__(config)
        self.hub = hub

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.hub.close_all()
        await super().shutdown(sockets)


def run(app: FastAPI, settings: Settings) -> int:
    """Serve ``app`` until a signal stops it; the exit status (0, or 3 if it could not start)."""
    configure_logging(settings.log_level, json=settings.log_json)
    config = uvicorn.Config(
        app,
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
