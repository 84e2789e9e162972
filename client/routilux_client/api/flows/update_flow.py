from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.flow_create import FlowCreate
from ...models.flow_created import FlowCreated
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_id: str,
    *,
    body: FlowCreate,
    if_match: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["if-match"] = if_match

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/flows/{flow_id}".format(
            flow_id=quote(str(flow_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FlowCreated | Problem | None:
    if response.status_code == 200:
        response_200 = FlowCreated.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[FlowCreated | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    if_match: str | Unset = UNSET,
) -> Response[FlowCreated | Problem]:
    """Replace a flow's document: a new revision, validated as on create

     The body is the whole DSL document (JSON, or YAML with `Content-Type: application/yaml`);
    its `flow_id`, if present, must be the flow's. The answer is the flow with `revision` one
    higher and its new `ETag`; send the ETag you read as `If-Match` to refuse the update (412)
    when someone changed the flow meanwhile. Jobs already queued or running keep the revision
    they were queued with (`flow_revision` on the job); jobs executed from now on run the new
    one. Past revisions stay readable: `list_flow_revisions`, `get_flow?revision=N`.

    Args:
        flow_id (str):
        if_match (str | Unset): Update only if the flow's ETag still matches (else 412): no lost
            update.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlowCreated | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        body=body,
        if_match=if_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    if_match: str | Unset = UNSET,
) -> FlowCreated | Problem | None:
    """Replace a flow's document: a new revision, validated as on create

     The body is the whole DSL document (JSON, or YAML with `Content-Type: application/yaml`);
    its `flow_id`, if present, must be the flow's. The answer is the flow with `revision` one
    higher and its new `ETag`; send the ETag you read as `If-Match` to refuse the update (412)
    when someone changed the flow meanwhile. Jobs already queued or running keep the revision
    they were queued with (`flow_revision` on the job); jobs executed from now on run the new
    one. Past revisions stay readable: `list_flow_revisions`, `get_flow?revision=N`.

    Args:
        flow_id (str):
        if_match (str | Unset): Update only if the flow's ETag still matches (else 412): no lost
            update.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlowCreated | Problem
    """

    return sync_detailed(
        flow_id=flow_id,
        client=client,
        body=body,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    if_match: str | Unset = UNSET,
) -> Response[FlowCreated | Problem]:
    """Replace a flow's document: a new revision, validated as on create

     The body is the whole DSL document (JSON, or YAML with `Content-Type: application/yaml`);
    its `flow_id`, if present, must be the flow's. The answer is the flow with `revision` one
    higher and its new `ETag`; send the ETag you read as `If-Match` to refuse the update (412)
    when someone changed the flow meanwhile. Jobs already queued or running keep the revision
    they were queued with (`flow_revision` on the job); jobs executed from now on run the new
    one. Past revisions stay readable: `list_flow_revisions`, `get_flow?revision=N`.

    Args:
        flow_id (str):
        if_match (str | Unset): Update only if the flow's ETag still matches (else 412): no lost
            update.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlowCreated | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        body=body,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    if_match: str | Unset = UNSET,
) -> FlowCreated | Problem | None:
    """Replace a flow's document: a new revision, validated as on create

     The body is the whole DSL document (JSON, or YAML with `Content-Type: application/yaml`);
    its `flow_id`, if present, must be the flow's. The answer is the flow with `revision` one
    higher and its new `ETag`; send the ETag you read as `If-Match` to refuse the update (412)
    when someone changed the flow meanwhile. Jobs already queued or running keep the revision
    they were queued with (`flow_revision` on the job); jobs executed from now on run the new
    one. Past revisions stay readable: `list_flow_revisions`, `get_flow?revision=N`.

    Args:
        flow_id (str):
        if_match (str | Unset): Update only if the flow's ETag still matches (else 412): no lost
            update.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlowCreated | Problem
    """

    return (
        await asyncio_detailed(
            flow_id=flow_id,
            client=client,
            body=body,
            if_match=if_match,
        )
    ).parsed
