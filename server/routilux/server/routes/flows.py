"""Flows: create from the DSL (JSON or YAML), list, get, delete, and execute."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response

from routilux.engine.documents import load_document, validate_spec
from routilux.engine.models import FlowRecord
from routilux.engine.models import Job as EngineJob
from routilux.engine.runtime import Runtime
from routilux.engine.spec import FlowSpec
from routilux.jsonutil import size as json_size
from routilux.server.bodies import check_document
from routilux.server.convert import FlowDocuments, etag, flow_json, job_json, page_json, to_flow
from routilux.server.deps import (
    IdempotencyDep,
    RuntimeDep,
    SettingsDep,
    idempotency_of,
    runtime_of,
    settings_of,
    store_of,
)
from routilux.server.errors import ApiError, ProblemError
from routilux.server.idempotency import IdempotencyKey, request_key
from routilux.server.jsonio import JSONBytes
from routilux.server.lean import lean
from routilux.server.openapi_headers import string_header
from routilux.server.openapi_problems import problems
from routilux.server.pagination import Cursor, Limit, page_in_memory
from routilux.server.schemas.common import ID_PATTERN
from routilux.server.schemas.flows import Flow, FlowCreated, FlowPage, FlowWarning
from routilux.server.schemas.jobs import Job, JobExecute
from routilux.server.settings import Settings

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])

#: The request body of create and update: a flow document, in JSON or YAML (read by hand, so that
#: YAML is accepted: the schema is declared here rather than by a body parameter).
FLOW_DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/FlowCreate"}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/FlowCreate"}},
        },
    }
}
FIRST_PAGE = 50  # items on a page when the request does not say

FlowId = Annotated[str, Path(pattern=ID_PATTERN, max_length=128, examples=["greet"])]
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def _media_type(request: Request) -> Literal["json", "yaml"]:
    raw = request.headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json"):
        return "json"
    if media in YAML_TYPES:
        return "yaml"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"send the flow as application/json or application/yaml, not {media or 'no type'}",
        headers={"Accept-Post": "application/json, application/yaml"},
    )


def _documents(request: Request) -> FlowDocuments:
    documents: FlowDocuments = request.app.state.flow_documents
    return documents


@router.get("", response_model=FlowPage, responses=problems(422))
@lean
async def list_flows(
    request: Request, limit: Limit = FIRST_PAGE, cursor: Cursor = None
) -> Response:
    """List flows, newest first."""
    return JSONBytes(flow_page(runtime_of(request), _documents(request), limit, cursor))


def flow_page(runtime: Runtime, documents: FlowDocuments, limit: int, cursor: str | None) -> bytes:
    """A page of flows as JSON."""
    records = runtime.list_flows()
    page, next_cursor = page_in_memory(records, lambda r: (r.created_at, r.flow_id), limit, cursor)
    return page_json([documents.body(r) for r in page], next_cursor, len(records))


@router.post(
    "",
    status_code=201,
    responses={
        201: {
            "description": "The flow was created.",
            "headers": {
                "Location": string_header("The flow's URL."),
                "ETag": string_header("The flow's entity tag."),
            },
        },
        **problems(409, 413, 415, 422),
    },
    openapi_extra=FLOW_DOCUMENT_BODY,
)
async def create_flow(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
    idempotency_key: IdempotencyKey = None,
) -> FlowCreated:
    """Create a flow from a Routilux flow document.

    The body is the DSL document (`routines`, `connections`, `execution`), as JSON or as YAML
    with `Content-Type: application/yaml`. Everything is validated before the flow is stored:
    unknown routine types, events or slots, invalid configs and bad references are reported
    together, each with its location. `flow_id` is generated when absent.
    """
    spec = await read_document(request, runtime, settings)

    async def find(flow_id: str) -> FlowRecord | None:
        return runtime.get_flow(flow_id) if runtime.has_flow(flow_id) else None

    record = await idempotency.once(
        request_key(idempotency_key, "create_flow", spec),
        find,
        lambda key: runtime.create_flow(spec, idempotency=key),
    )
    _describe(response, record, _documents(request))
    return with_warnings(runtime, record)


def with_warnings(runtime: Runtime, record: FlowRecord) -> FlowCreated:
    """The flow as created or revised, with what looks wrong in it (not stored: derived)."""
    warnings = [
        FlowWarning(type=w.type, message=w.message, routines=list(w.routines))
        for w in runtime.flow_warnings(record.flow_id)
    ]
    return FlowCreated.model_validate(
        {**to_flow(record).model_dump(by_alias=True), "warnings": warnings}
    )


async def read_document(request: Request, runtime: Runtime, settings: Settings) -> FlowSpec:
    """The body's flow document, JSON or YAML, validated (create_flow and update_flow)."""
    body = await request.body()
    if not body.strip():
        raise ApiError(
            422,
            "validation_error",
            "a flow document is required",
            errors=[ProblemError(loc=["body"], msg="Field required", type="missing")],
        )
    media_type = _media_type(request)
    document = load_document(body, media_type)
    if media_type == "yaml":  # a JSON body was checked before the route ran (``bodies``)
        check_document(document, settings)
    spec = validate_spec(document, runtime.registry)
    _check_size(spec, settings)
    return spec


def _check_size(spec: FlowSpec, settings: Settings) -> None:
    """The operator's limits, which may be lower than the schema's hard bounds."""
    for field, count, limit in (
        ("routines", len(spec.routines), settings.max_routines_per_flow),
        ("connections", len(spec.connections), settings.max_connections_per_flow),
    ):
        if count > limit:
            raise ApiError(
                422,
                "flow_too_large",
                f"the flow has {count} {field}; this server accepts at most {limit}",
                errors=[ProblemError(loc=["body", field], msg="too many", type="too_long")],
            )


def _describe(response: Response, record: FlowRecord, documents: FlowDocuments) -> None:
    response.headers["Location"] = f"/api/v1/flows/{record.flow_id}"
    response.headers["ETag"] = documents.etag(record)


@router.get(
    "/{flow_id}",
    response_model=Flow,
    responses={
        200: {
            "description": "The flow.",
            "headers": {"ETag": string_header("The flow's entity tag.")},
        },
        **problems(404, 422),
    },
)
async def get_flow(
    flow_id: FlowId,
    request: Request,
    revision: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**31 - 1,
            description="A past revision (see `list_flow_revisions`); the current one if absent.",
        ),
    ] = None,
) -> Response:
    """Get a flow's document and bookkeeping; the `ETag` serves `If-Match` on update and delete.

    With `revision`, the document as it was at that revision (404 `flow_revision_not_found` if
    the flow never had it).
    """
    runtime = runtime_of(request)
    record = runtime.get_flow(flow_id)
    documents = _documents(request)
    if revision is not None and revision != record.revision:
        past = await runtime.get_flow_revision(flow_id, revision)
        return JSONBytes(flow_json(past), headers={"ETag": etag(past)})
    return JSONBytes(documents.body(record), headers={"ETag": documents.etag(record)})


def check_if_match(documents: FlowDocuments, record: FlowRecord, if_match: str | None) -> None:
    """412 unless ``If-Match`` (when sent) names the flow's current ETag, or is ``*``."""
    if if_match is None:
        return
    current = documents.etag(record)
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" not in candidates and current not in candidates:
        raise ApiError(
            412,
            "etag_mismatch",
            f"If-Match {if_match} does not match the flow's ETag {current}",
        )


@router.delete(
    "/{flow_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "The flow was deleted."}, **problems(404, 409, 412, 422)},
)
async def delete_flow(
    flow_id: FlowId,
    request: Request,
    runtime: RuntimeDep,
    force: Annotated[
        bool, Query(description="Cancel the flow's unfinished jobs instead of refusing.")
    ] = False,
    if_match: Annotated[
        str | None,
        Header(max_length=200, description="Delete only if the flow's ETag still matches."),
    ] = None,
) -> Response:
    """Delete a flow; refused with 409 while it has unfinished jobs unless `force=true`.

    Its worker stops and its breakpoints go; its jobs stay readable.
    """
    record = runtime.get_flow(flow_id)
    documents = _documents(request)
    check_if_match(documents, record, if_match)
    await runtime.delete_flow(flow_id, force=force)
    documents.forget(flow_id)
    return Response(status_code=204)


@router.post(
    "/{flow_id}/execute",
    status_code=202,
    response_model=Job,
    responses={
        202: {
            "description": "The job was accepted and stored; it runs in the background.",
            "headers": {"Location": string_header("The job's URL.")},
        },
        **problems(404, 413, 422),
    },
)
async def execute_flow(
    flow_id: FlowId,
    body: JobExecute,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Execute a flow on `data`: answers 202 with the queued job once it is stored.

    With an `Idempotency-Key`, repeating the same request returns the same job; reusing the key
    with a different body is a 422.
    """
    runtime, store, settings = runtime_of(request), store_of(request), settings_of(request)
    # The input limit covers what the job keeps of the body: its data and its metadata.
    data_size = json_size(body.data)
    size = data_size + (json_size(body.metadata) if body.metadata else 0)
    if size > settings.max_job_input_bytes:
        field = "data" if data_size > settings.max_job_input_bytes else "metadata"
        raise ApiError(
            422,
            "job_input_too_large",
            f"job input (data and metadata) is {size} bytes; "
            f"the limit is {settings.max_job_input_bytes}",
            errors=[ProblemError(loc=["body", field], msg="input too large", type="too_large")],
        )

    async def find(job_id: str) -> EngineJob | None:
        return runtime.live_job(job_id) or await store.get_job(job_id)

    job = await idempotency_of(request).once(
        request_key(idempotency_key, f"execute_flow:{flow_id}", body.model_dump(mode="json")),
        find,
        lambda key: runtime.execute(
            flow_id,
            body.data,
            entry=body.entry,
            metadata=body.metadata,
            idempotency=key,
            input_bytes=size,
        ),
    )
    location = {"Location": f"/api/v1/jobs/{job.job_id}"}
    return JSONBytes(job_json(job), status_code=202, headers=location)
