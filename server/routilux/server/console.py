"""The console: a single-page app built from ``console/`` (``scripts/build_console``) and shipped in
this package as static files, so serving it needs no Node.js.

``/`` and every path under ``/ui/`` answer its ``index.html`` (the app routes on the client); its
hashed assets are under ``/ui/assets/`` and cached for a year. None of it holds data, so none of it
asks for the API key (``/ui/`` is a public prefix of the gate, and ``/`` is answered by
:class:`ConsoleRoot` ahead of the gate); the app sends the key with each API call it makes.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

CONSOLE_DIR = Path(str(files("routilux") / "console"))
PREFIX = "/ui"
ASSETS = f"{PREFIX}/assets/"
# The page may run only its own scripts and talk only to this server.
INDEX_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
NOT_BUILT = "The console is not built: run scripts/build_console.\n"


def index_response() -> Response:
    index = CONSOLE_DIR / "index.html"
    if not index.is_file():
        return PlainTextResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-cache"})
    return FileResponse(index, media_type="text/html", headers=INDEX_HEADERS)


async def index(request: Request) -> Response:
    """The app's page, for every client-side route."""
    return index_response()


async def asset(request: Request) -> Response:
    """One built asset; only names the build wrote (no path from the URL reaches the disk)."""
    name = request.path_params["name"]
    shipped: dict[str, Path] = request.app.state.console_assets
    path = shipped.get(name)
    if path is None:
        return PlainTextResponse("not found\n", status_code=404)
    return FileResponse(path, headers=ASSET_HEADERS)


def install(app: FastAPI) -> None:
    """Serve the console under ``/ui/`` (outside the OpenAPI schema)."""
    assets_dir = CONSOLE_DIR / "assets"
    app.state.console_assets = (
        {p.name: p for p in assets_dir.iterdir() if p.is_file()} if assets_dir.is_dir() else {}
    )
    methods = ["GET", "HEAD"]
    app.router.routes.append(Route(f"{ASSETS}{{name:path}}", asset, methods=methods))
    app.router.routes.append(Route(f"{PREFIX}/{{path:path}}", index, methods=methods))


class ConsoleRoot:
    """``GET /`` answers the console's page before the gate: the address a user types first must
    open the console (which then asks for the key), not answer a 401 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            await index_response()(scope, receive, send)
            return
        await self.app(scope, receive, send)
