"""The OpenAPI document: FastAPI's, completed with what the contract promises.

Completed with: the problem schema on every error, the API-key security scheme (public operations
say ``security: []``), ``X-Request-ID`` on every response, links from created resources to what a
client does next, and the event envelope as a named schema.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from routilux import __version__
from routilux.server.errors import PROBLEM_MEDIA_TYPE, Problem
from routilux.server.openapi_headers import string_header
from routilux.server.schemas.events import Event
from routilux.server.schemas.flows import FlowCreate

SECURITY_SCHEME = "ApiKeyAuth"
PUBLIC_TAGS = {"health"}

DESCRIPTION = """\
Routilux runs event-driven workflows: **routines** with input **slots** and output **events**,
wired by **connections** into **flows**, executed as **jobs** on **workers**, with
**breakpoints** for debugging.

Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`. Lists are pages
(`items`, `next_cursor`, `total`), newest first. Live events stream on the WebSocket
`/api/v1/ws/events` with the envelope published here as `Event`.

## Live events over WebSocket

Connect to `/api/v1/ws/events`. The key goes in the `X-API-Key` header or, for browsers, as the
subprotocol `routilux.key.<key in base64url, no padding>` offered with `routilux.v1` (which the
server accepts; old clients may still use `?api_key=`); a missing or wrong one refuses the
handshake (HTTP 403) before anything is sent. Handshakes count against the rate limit (429).
Query parameters: `flow_id`, `job_id`, `types` (each repeatable or comma-separated) filter the
events; `since=<id>` first replays the
stored events after that id, then goes live with no gap and no duplicate. With no filter and no
`since`, a connection receives every event until its first `subscribe`.

Event frames are `Event` objects, exactly as in `GET /api/v1/jobs/{job_id}/events`; their `type`
always contains a dot. Client messages and the control frames that answer them (in order, each
after every event published before its request):

- `{"type": "ping"}` → `{"type": "pong"}`
- `{"type": "subscribe", "flow_id": .., "job_id": .., "types": [..]}` →
  `{"type": "subscribed", "subscription_id": N, ...}` (a connection receives the events matching
  any of its subscriptions; the query string's filter is subscription 1)
- `{"type": "unsubscribe", "subscription_id": N}` → `{"type": "unsubscribed", ...}`
- anything else → `{"type": "error", "code": .., "message": ..}`; 5 in a row close with 1008.

Close codes: 1001 server shutting down; 1008 invalid query string or repeated invalid messages;
1011 server error; 1013 too many connections, or a client too slow to keep up with its bounded
buffer (`ROUTILUX_WS_SEND_BUFFER`), whose reason ends `resume with since=<id>`: reconnect with it.
"""


def _link(operation_id: str, parameter: str) -> dict[str, Any]:
    """A link to ``operation_id``, its ``parameter`` taken from the same field of the body."""
    return {
        "operationId": operation_id,
        "parameters": {parameter: f"$response.body#/{parameter}"},
    }


LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("create_flow", "201"): {
        "GetFlow": _link("get_flow", "flow_id"),
        "ExecuteFlow": _link("execute_flow", "flow_id"),
        "DeleteFlow": _link("delete_flow", "flow_id"),
    },
    ("update_flow", "200"): {
        "GetFlow": _link("get_flow", "flow_id"),
        "ListFlowRevisions": _link("list_flow_revisions", "flow_id"),
        "ExecuteFlow": _link("execute_flow", "flow_id"),
    },
    ("execute_flow", "202"): {
        "GetJob": _link("get_job", "job_id"),
        "CancelJob": _link("cancel_job", "job_id"),
        "ListJobEvents": _link("list_job_events", "job_id"),
        "ListJobLogs": _link("list_job_logs", "job_id"),
    },
    ("create_breakpoint", "201"): {
        "GetBreakpoint": _link("get_breakpoint", "breakpoint_id"),
        "ResumeBreakpoint": _link("resume_breakpoint", "breakpoint_id"),
        "DeleteBreakpoint": _link("delete_breakpoint", "breakpoint_id"),
    },
}

REQUEST_ID_HEADER = string_header("The request's id: echoed from the request, or generated.")


def _add_model(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is a string on the wire, or absent: never null. FastAPI writes an optional
    one as ``anyOf: [<schema>, {type: null}]``, which would let `null` (the text) pass as valid."""
    branches = schema.get("anyOf")
    if not branches:
        return schema
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if len(kept) != 1 or len(kept) == len(branches):
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**kept[0], **rest}


def _share_success_body(responses: dict[str, Any]) -> None:
    """Give every 2xx (but 204) the body of the route's own status: FastAPI documents it only
    there, yet the handler returns the same model whichever status it sets (cancel_job: 202)."""
    bodies = [r["content"] for s, r in responses.items() if s.startswith("2") and "content" in r]
    if not bodies:
        return
    for status, response in responses.items():
        if status.startswith("2") and status != "204" and "content" not in response:
            response["content"] = copy.deepcopy(bodies[0])


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a ``$ref`` (or an optional body's ``anyOf: [$ref, null]``) points to."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        schema = branches[0]
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def _example_from_schema(target: dict[str, Any], schema: dict[str, Any]) -> None:
    """Give a parameter or request body the schema's first example as its own ``example``: what
    Swagger UI's "Try it out" fills in (left without one, it invents values from the patterns,
    which the server then refuses). Every example builds on the README's ``greet`` flow."""
    examples = schema.get("examples")
    if "example" not in target and isinstance(examples, list) and examples:
        target["example"] = copy.deepcopy(examples[0])


def _declare_unknown_query(operation: dict[str, Any]) -> None:
    """Every operation answers 422 to a query parameter it does not declare (``strictquery``)."""
    responses = operation["responses"]
    if "422" not in responses:
        responses["422"] = {
            "description": "An unknown query parameter; `errors` names it.",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        operation["responses"] = dict(sorted(responses.items()))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title="Routilux",
        version=__version__,
        description=DESCRIPTION,
        routes=app.routes,
        tags=[
            {"name": "flows", "description": "Flow documents, and running them."},
            {"name": "jobs", "description": "Runs of flows."},
            {"name": "workers", "description": "The executors of each flow's jobs."},
            {"name": "breakpoints", "description": "Pause jobs before a routine runs."},
            {"name": "routine-types", "description": "What flows can be built from."},
            {"name": "replicas", "description": "The server processes sharing the database."},
            {"name": "health", "description": "Liveness and readiness; no key needed."},
        ],
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, Event, FlowCreate):
        _add_model(components, model)
    schema["components"]["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "One of the keys in ROUTILUX_API_KEYS (when the server has any).",
        }
    }
    schema["security"] = [{SECURITY_SCHEME: []}]
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            # The docstring's first paragraph is the summary, plain text (a heading and a menu
            # entry in ReDoc: no Markdown backticks); the rest, if any, the description, so that
            # a reader does not see the same sentence twice.
            first, _, rest = operation.get("description", "").partition("\n\n")
            operation["summary"] = " ".join(first.split()).rstrip(".").replace("`", "")
            if rest.strip():
                operation["description"] = rest.strip()
            else:
                operation.pop("description", None)
            if PUBLIC_TAGS.intersection(operation.get("tags", [])):
                operation["security"] = []
            _declare_unknown_query(operation)
            _share_success_body(operation["responses"])
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _not_null(parameter["schema"])
                _example_from_schema(parameter, parameter["schema"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _example_from_schema(media, _resolve(schema, media.get("schema", {})))
            for status, response in operation["responses"].items():
                response.setdefault("headers", {})["X-Request-ID"] = REQUEST_ID_HEADER
                links = LINKS.get((operation["operationId"], status))
                if links:
                    response["links"] = links
    # Nothing in the document may be shared with these module constants (or between two
    # places): tools such as Schemathesis add to the document they are given.
    return copy.deepcopy(schema)
