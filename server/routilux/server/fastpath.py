"""A short cut for the two busiest reads, taken before FastAPI's routing and dependency solving.

* ``GET /api/v1/jobs/{job_id}`` for a job the runtime holds (unfinished, or recently finished):
  what clients poll while they wait for a job (with no query string: ``?wait=`` is the route's);
* ``GET /api/v1/flows`` with no query string: the first page of flows.

They are answered here with exactly the status, headers and bytes that their routes send (a test
compares them), and with the route in the scope, so that the gate's metrics and request log label
them as usual. Anything else goes on to FastAPI, unchanged: other paths and methods, a query
string on the flows, a job id that is not valid or not held in memory, and so every error.

Why: profiling showed FastAPI's machinery for one request (matching through every included
router, solving dependencies, validating parameters) at several times the cost of answering these
two, which were then several times slower than the same answer from a bare Starlette app.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from routilux.server.convert import FlowDocuments, job_json
from routilux.server.routes import flows, jobs
from routilux.server.schemas.common import ID_PATTERN

JOBS_PREFIX = "/api/v1/jobs/"
FLOWS_PATH = "/api/v1/flows"
_ID = re.compile(ID_PATTERN)


def _route(routes: Sequence[BaseRoute], name: str) -> APIRoute:
    for route in routes:
        if isinstance(route, APIRoute) and route.name == name:
            return route
    raise LookupError(f"no route {name!r}")


class FastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.job_route = _route(jobs.router.routes, "get_job")
        self.flows_route = _route(flows.router.routes, "list_flows")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self._answer(scope)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        state = scope["app"].state
        if path.startswith(JOBS_PREFIX):
            if scope["query_string"]:
                return None  # ?wait= (a long poll), or a parameter the route must check
            job_id = path[len(JOBS_PREFIX) :]
            if len(job_id) > 128 or not _ID.match(job_id):
                return None
            job = state.runtime.live_job(job_id)
            if job is None:
                return None
            scope["route"] = self.job_route
            return job_json(job)
        if path == FLOWS_PATH and not scope["query_string"]:
            documents: FlowDocuments = state.flow_documents
            scope["route"] = self.flows_route
            return flows.flow_page(state.runtime, documents, flows.FIRST_PAGE, None)
        return None
