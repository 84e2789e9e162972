from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.flow import Flow
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_id: str,
    *,
    revision: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["revision"] = revision

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/flows/{flow_id}".format(
            flow_id=quote(str(flow_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Flow | Problem | None:
    if response.status_code == 200:
        response_200 = Flow.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[Flow | Problem]:
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
    revision: int | Unset = UNSET,
) -> Response[Flow | Problem]:
    """Get a flow's document and bookkeeping; the ETag serves If-Match on update and delete

     With `revision`, the document as it was at that revision (404 `flow_revision_not_found` if
    the flow never had it).

    Args:
        flow_id (str):
        revision (int | Unset): A past revision (see `list_flow_revisions`); the current one if
            absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Flow | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        revision=revision,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    revision: int | Unset = UNSET,
) -> Flow | Problem | None:
    """Get a flow's document and bookkeeping; the ETag serves If-Match on update and delete

     With `revision`, the document as it was at that revision (404 `flow_revision_not_found` if
    the flow never had it).

    Args:
        flow_id (str):
        revision (int | Unset): A past revision (see `list_flow_revisions`); the current one if
            absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Flow | Problem
    """

    return sync_detailed(
        flow_id=flow_id,
        client=client,
        revision=revision,
    ).parsed


async def asyncio_detailed(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    revision: int | Unset = UNSET,
) -> Response[Flow | Problem]:
    """Get a flow's document and bookkeeping; the ETag serves If-Match on update and delete

     With `revision`, the document as it was at that revision (404 `flow_revision_not_found` if
    the flow never had it).

    Args:
        flow_id (str):
        revision (int | Unset): A past revision (see `list_flow_revisions`); the current one if
            absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Flow | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        revision=revision,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    revision: int | Unset = UNSET,
) -> Flow | Problem | None:
    """Get a flow's document and bookkeeping; the ETag serves If-Match on update and delete

     With `revision`, the document as it was at that revision (404 `flow_revision_not_found` if
    the flow never had it).

    Args:
        flow_id (str):
        revision (int | Unset): A past revision (see `list_flow_revisions`); the current one if
            absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Flow | Problem
    """

    return (
        await asyncio_detailed(
            flow_id=flow_id,
            client=client,
            revision=revision,
        )
    ).parsed
