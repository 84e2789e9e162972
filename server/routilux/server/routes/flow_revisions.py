"""Changing a flow: a new revision of its document, and the past ones to read back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from routilux.server.convert import flow_json, page_json
from routilux.server.deps import RuntimeDep, SettingsDep, StoreDep
from routilux.server.jsonio import JSONBytes
from routilux.server.openapi_headers import string_header
from routilux.server.openapi_problems import problems
from routilux.server.pagination import Cursor, Limit, decode_int_cursor, encode_cursor
from routilux.server.routes.flows import (
    FLOW_DOCUMENT_BODY,
    FlowId,
    _documents,
    check_if_match,
    read_document,
    with_warnings,
)
from routilux.server.schemas.flows import FlowCreated, FlowRevisionPage

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])

ETAG_HEADER = string_header("The new revision's entity tag.")
IfMatch = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Update only if the flow's ETag still matches (else 412): no lost update.",
    ),
]


@router.put(
    "/{flow_id}",
    response_model=FlowCreated,
    responses={
        200: {
            "description": "The flow's new revision (with `warnings`, as on create).",
            "headers": {
                "ETag": ETAG_HEADER,
                "Location": string_header("The flow's URL."),
            },
        },
        **problems(404, 409, 412, 413, 415, 422),
    },
    openapi_extra=FLOW_DOCUMENT_BODY,
)
async def update_flow(
    flow_id: FlowId,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> FlowCreated:
    """Replace a flow's document: a new revision, validated as on create.

    The body is the whole DSL document (JSON, or YAML with `Content-Type: application/yaml`);
    its `flow_id`, if present, must be the flow's. The answer is the flow with `revision` one
    higher and its new `ETag`; send the ETag you read as `If-Match` to refuse the update (412)
    when someone changed the flow meanwhile. Jobs already queued or running keep the revision
    they were queued with (`flow_revision` on the job); jobs executed from now on run the new
    one. Past revisions stay readable: `list_flow_revisions`, `get_flow?revision=N`.
    """
    runtime.get_flow(flow_id)  # 404 before reading the body
    spec = await read_document(request, runtime, settings)
    documents = _documents(request)
    # No await between the check and the swap in update_flow: concurrent updates with the same
    # If-Match cannot both pass.
    check_if_match(documents, runtime.get_flow(flow_id), if_match)
    record = await runtime.update_flow(flow_id, spec)
    response.headers["ETag"] = documents.etag(record)
    response.headers["Location"] = f"/api/v1/flows/{flow_id}"
    return with_warnings(runtime, record)


@router.get(
    "/{flow_id}/revisions",
    response_model=FlowRevisionPage,
    responses=problems(404, 422),
)
async def list_flow_revisions(
    flow_id: FlowId,
    runtime: RuntimeDep,
    store: StoreDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """List a flow's revisions, newest first: the current document, then the ones it replaced.

    Each item is the flow as it was at that revision (`revision`, `updated_at`: when it was
    made). Read one with `get_flow?revision=N`.
    """
    runtime.get_flow(flow_id)
    page = await store.list_flow_revisions(flow_id, limit=limit, cursor=decode_int_cursor(cursor))
    items = [flow_json(record) for record in page.items]
    next_cursor = encode_cursor(str(page.next_cursor)) if page.next_cursor is not None else None
    return JSONBytes(page_json(items, next_cursor, page.total))
