"""``create_app``: builds the whole object graph from settings, with no module-level state."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from routilux import __version__
from routilux.engine.event_tail import EventTail
from routilux.server import bodies, console, errors, lean, metrics, strictquery
from routilux.server.convert import FlowDocuments
from routilux.server.engine_setup import build_runtime, build_store
from routilux.server.head import HeadAsGet, with_head
from routilux.server.idempotency import IdempotencyKeys
from routilux.server.jsonio import FastJSONResponse
from routilux.server.logs import log_event
from routilux.server.middleware import Gate
from routilux.server.openapi import build_openapi
from routilux.server.ratelimit import RateLimit
from routilux.server.routes import (
    breakpoints,
    events,
    flow_revisions,
    flows,
    health,
    job_logs,
    jobs,
    replicas,
    routine_types,
    workers,
)
from routilux.server.settings import Settings
from routilux.server.ws import ConnectionHub

DOCS_STATIC = "/static/docs"
# The documentation pages load nothing from elsewhere: ReDoc's footer would fetch its vendor's logo
# from a CDN (the image then falls back to the text "API docs by Redocly").
DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; font-src 'self' data:"
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build an app; its store and runtime start with it (lifespan) and stop with it."""
    settings = settings or Settings()
    if settings.executor_only:
        raise ValueError(
            "ROUTILUX_EXECUTOR_ONLY is set: an executor serves no HTTP API; start it with "
            "`routilux serve` (or unset it to serve the API)"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = build_store(settings)
        await store.open()
        runtime = build_runtime(settings, store)
        # The stream subscribers see: this process's own events when it is alone on its
        # database, the deployment's as they are committed when processes share it.
        tail = None
        if not store.replicas.exclusive:
            tail = EventTail(
                store.list_events,
                store.newest_event_id,
                runtime.signals,
                buffer_size=settings.ws_send_buffer,
            )
        await runtime.start()
        if tail is not None:
            await tail.start()
        app.state.event_tail = tail
        app_metrics.attach(runtime)
        runtime.bus.add_sink(log_event)
        app.state.store = store
        app.state.runtime = runtime
        app.state.idempotency = IdempotencyKeys(store)
        try:
            yield
        finally:
            # Clients still connected (in process, or if the server did not close them) get 1001.
            await app.state.ws_hub.close_all()
            if tail is not None:
                await tail.close()
            try:
                await runtime.shutdown()
            finally:
                await store.close()  # also when the database is away: the process still ends

    app = FastAPI(
        title="Routilux",
        version=__version__,
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
        docs_url=None,
        redoc_url=None,
        separate_input_output_schemas=False,
        generate_unique_id_function=operation_id,
        # Unknown query parameters, and what a JSON body may not hold: 422, on every operation.
        dependencies=[strictquery.STRICT_QUERY, bodies.CHECK_JSON_BODY],
        telemetry=telemetry_config(settings.telemetry),
    )
    app.state.settings = settings
    app.state.flow_documents = FlowDocuments()
    # Made here, not in the lifespan, so that the server can close its clients before that ends.
    app.state.ws_hub = ConnectionHub(
        settings.ws_max_connections,
        per_identity=settings.ws_max_connections_per_key,
        messages_per_second=settings.ws_messages_per_second,
    )
    modules = (
        flows,
        flow_revisions,
        jobs,
        job_logs,
        workers,
        breakpoints,
        routine_types,
        replicas,
        health,
    )
    routers = [m.router for m in (*modules, events)]
    for router in routers:
        app.include_router(router)
    # For the Allow header of a 405: every route's path pattern and methods (HEAD with GET).
    app.state.routes = [
        (route.path_regex, with_head(route.methods))
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    errors.install(app)
    _mount_docs(app)
    console.install(app)  # the console's page and assets under /ui/
    _label_unrouted(app)
    app.router.default = _not_found(app.router.default)
    app_metrics = metrics.install(app)  # GET /metrics, behind the API-key gate like the API
    if settings.lean_routes:
        lean.install(app, routers)  # the busiest reads, ahead of the routes (server/lean.py)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(HeadAsGet)  # HEAD on every GET route
    rate_limit = None
    if settings.rate_limit_per_second > 0:
        rate_limit = RateLimit(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.add_middleware(
        Gate,
        api_keys=[key.get_secret_value() for key in settings.api_keys],
        max_body_bytes=settings.max_body_bytes,
        rate_limit=rate_limit,
        metrics=app_metrics,
        allowed_hosts=settings.allowed_hosts,
    )
    app.add_middleware(console.ConsoleRoot)  # GET / is the console's page, ahead of the gate
    return app


def operation_id(route: APIRoute) -> str:
    """operationId = the route function's name, so the client reads ``flows.create_flow``."""
    return route.name


def _labelled(inner: ASGIApp, route: Route | Mount) -> ASGIApp:
    async def labelled(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route  # what the gate's metrics and request log read the template from
        await inner(scope, receive, send)

    return labelled


def _label_unrouted(app: FastAPI) -> None:
    """``/openapi.json`` and the docs' static files are Starlette routes, which (unlike FastAPI's)
    leave no route in the scope: give them one, so that metrics label them by their template."""
    for route in app.router.routes:
        if isinstance(route, (Route, Mount)) and not isinstance(route, APIRoute):
            route.app = _labelled(route.app, route)


def _not_found(default: ASGIApp) -> ASGIApp:
    """A WebSocket handshake on an unknown path gets the 404 problem (with ``X-Request-ID``) that
    an HTTP request gets, through the WebSocket Denial Response extension, not a bare 403."""

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await default(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" not in scope.get("extensions", {}):
            await websocket.close(1008, "not found")
            return
        request_id = scope.get("state", {}).get("request_id", "")
        path = scope["path"]
        response = errors.problem_response(
            None,
            404,
            "not_found",
            f"no resource at {path}",
            path=path,
            request_id=request_id,
            headers={"X-Request-ID": request_id},
        )
        await websocket.send_denial_response(response)

    return not_found


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc with their assets served from here: they work with no internet."""
    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_STATIC, StaticFiles(directory=str(assets)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Routilux API",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
            swagger_ui_parameters={
                "persistAuthorization": True,
                "displayRequestDuration": True,
                # No badge from validator.swagger.io: it would send it this server's schema URL.
                "validatorUrl": None,
            },
        )
        page.headers.update(DOCS_HEADERS)
        return page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title="Routilux API",
            redoc_js_url=f"{DOCS_STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_STATIC}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(DOCS_HEADERS)
        return page


def telemetry_config(setting: str) -> TelemetryConfig | None:
    """FastAPI's native OpenTelemetry: its default (on, looking for providers on each request)
    when asked, or when ``auto`` finds OpenTelemetry configured by the environment (``OTEL_``
    variables, which ``opentelemetry-instrument`` and the SDK read); off otherwise, since with
    no provider there is nothing to record, and the look costs every request ~10 µs."""
    if setting == "on" or (
        setting == "auto" and any(name.startswith("OTEL_") for name in os.environ)
    ):
        return None
    return {"tracing": False, "metrics": False, "logs": False}
