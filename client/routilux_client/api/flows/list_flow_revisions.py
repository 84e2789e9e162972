from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.flow_revision_page import FlowRevisionPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_id: str,
    *,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/flows/{flow_id}/revisions".format(
            flow_id=quote(str(flow_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FlowRevisionPage | Problem | None:
    if response.status_code == 200:
        response_200 = FlowRevisionPage.from_dict(response.json())

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
) -> Response[FlowRevisionPage | Problem]:
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
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[FlowRevisionPage | Problem]:
    """List a flow's revisions, newest first: the current document, then the ones it replaced

     Each item is the flow as it was at that revision (`revision`, `updated_at`: when it was
    made). Read one with `get_flow?revision=N`.

    Args:
        flow_id (str):
        limit (int | Unset): Items per page. Default: 50.
        cursor (str | Unset): The `next_cursor` of the previous page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlowRevisionPage | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> FlowRevisionPage | Problem | None:
    """List a flow's revisions, newest first: the current document, then the ones it replaced

     Each item is the flow as it was at that revision (`revision`, `updated_at`: when it was
    made). Read one with `get_flow?revision=N`.

    Args:
        flow_id (str):
        limit (int | Unset): Items per page. Default: 50.
        cursor (str | Unset): The `next_cursor` of the previous page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlowRevisionPage | Problem
    """

    return sync_detailed(
        flow_id=flow_id,
        client=client,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[FlowRevisionPage | Problem]:
    """List a flow's revisions, newest first: the current document, then the ones it replaced

     Each item is the flow as it was at that revision (`revision`, `updated_at`: when it was
    made). Read one with `get_flow?revision=N`.

    Args:
        flow_id (str):
        limit (int | Unset): Items per page. Default: 50.
        cursor (str | Unset): The `next_cursor` of the previous page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlowRevisionPage | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> FlowRevisionPage | Problem | None:
    """List a flow's revisions, newest first: the current document, then the ones it replaced

     Each item is the flow as it was at that revision (`revision`, `updated_at`: when it was
    made). Read one with `get_flow?revision=N`.

    Args:
        flow_id (str):
        limit (int | Unset): Items per page. Default: 50.
        cursor (str | Unset): The `next_cursor` of the previous page.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlowRevisionPage | Problem
    """

    return (
        await asyncio_detailed(
            flow_id=flow_id,
            client=client,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
