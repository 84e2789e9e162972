"""Start one of the benchmarked servers with the same uvicorn settings for all of them.

    bench_serve.py ours --data-dir DIR --port P       this server (routilux.server.create_app)
    bench_serve.py ceiling --body DIR --port P        a bare Starlette app answering fixed bodies
    bench_serve.py original --port P                  Routilux 1.1.0 from PyPI, security disabled

It imports only the standard library and uvicorn at the top, so the original's interpreter (a
throwaway virtual environment without this project) runs it too. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import uvicorn

# One worker process, httptools, uvloop, no access log, no Server header: the same for all three.
UVICORN: dict[str, Any] = {
    "host": "127.0.0.1",
    "http": "httptools",
    "loop": "uvloop",
    "access_log": False,
    "log_level": "warning",
    "proxy_headers": False,
    "server_header": False,
}


def serve_ours(port: int, data_dir: Path) -> None:
    from routilux.server import Settings, create_app

    # As `routilux serve --log-level warning`: its one line per request is its access log.
    settings = Settings(host="127.0.0.1", port=port, data_dir=data_dir, log_level="warning")
    try:
        # What `routilux serve` runs. Its uvicorn settings are the ones above: http and loop
        # "auto" pick httptools and uvloop (both installed with uvicorn[standard]).
        from routilux.server.serving import run
    except ImportError:  # an older version (BENCH_SERVER_SOURCE)
        uvicorn.run(create_app(settings), port=port, **UVICORN)
    else:
        run(create_app(settings), settings)


def serve_ceiling(port: int, body_dir: Path) -> None:
    """The ceiling: Starlette routing and a prepared body, nothing else."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    flows = (body_dir / "flows.json").read_bytes()
    job = (body_dir / "job.json").read_bytes()

    async def list_flows(request: Request) -> Response:
        return Response(flows, media_type="application/json")

    async def get_job(request: Request) -> Response:
        return Response(job, media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b'{"status":"ready"}', media_type="application/json")

    app = Starlette(
        routes=[
            Route("/api/v1/flows", list_flows),
            Route("/api/v1/jobs/{job_id}", get_job),
            Route("/api/v1/health/ready", ready),
        ]
    )
    uvicorn.run(app, port=port, **UVICORN)


def serve_original(port: int) -> None:
    """Routilux 1.1.0 as its own ``routilux server start`` sets it up (built-in routines
    registered), with its documented development switch that turns off API keys and rate
    limiting, and the shared uvicorn settings instead of its defaults."""
    os.environ["ROUTILUX_DEV_DISABLE_SECURITY"] = "true"
    from routilux.builtin_routines import register_all_builtins  # type: ignore[import-not-found]
    from routilux.cli.discovery import discover_routines  # type: ignore[import-not-found]

    factory = discover_routines([], on_error="warn")
    register_all_builtins(factory)
    uvicorn.run("routilux.server.main:app", port=port, **UVICORN)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("server", choices=["ours", "ceiling", "original"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--body", type=Path)
    args = parser.parse_args()
    if args.server == "ours":
        serve_ours(args.port, args.data_dir)
    elif args.server == "ceiling":
        serve_ceiling(args.port, args.body)
    else:
        serve_original(args.port)


if __name__ == "__main__":
    main()
