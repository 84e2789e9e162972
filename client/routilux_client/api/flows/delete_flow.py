from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_id: str,
    *,
    force: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["if-match"] = if_match

    params: dict[str, Any] = {}

    params["force"] = force

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/v1/flows/{flow_id}".format(
            flow_id=quote(str(flow_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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
) -> Response[Any | Problem]:
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
    force: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Delete a flow; refused with 409 while it has unfinished jobs unless force=true

     Its worker stops and its breakpoints go; its jobs stay readable.

    Args:
        flow_id (str):
        force (bool | Unset): Cancel the flow's unfinished jobs instead of refusing. Default:
            False.
        if_match (str | Unset): Delete only if the flow's ETag still matches.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        force=force,
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
    force: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Any | Problem | None:
    """Delete a flow; refused with 409 while it has unfinished jobs unless force=true

     Its worker stops and its breakpoints go; its jobs stay readable.

    Args:
        flow_id (str):
        force (bool | Unset): Cancel the flow's unfinished jobs instead of refusing. Default:
            False.
        if_match (str | Unset): Delete only if the flow's ETag still matches.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        flow_id=flow_id,
        client=client,
        force=force,
        if_match=if_match,
    ).parsed


async def asyncio_detailed(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    force: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Delete a flow; refused with 409 while it has unfinished jobs unless force=true

     Its worker stops and its breakpoints go; its jobs stay readable.

    Args:
        flow_id (str):
        force (bool | Unset): Cancel the flow's unfinished jobs instead of refusing. Default:
            False.
        if_match (str | Unset): Delete only if the flow's ETag still matches.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        force=force,
        if_match=if_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    force: bool | Unset = False,
    if_match: str | Unset = UNSET,
) -> Any | Problem | None:
    """Delete a flow; refused with 409 while it has unfinished jobs unless force=true

     Its worker stops and its breakpoints go; its jobs stay readable.

    Args:
        flow_id (str):
        force (bool | Unset): Cancel the flow's unfinished jobs instead of refusing. Default:
            False.
        if_match (str | Unset): Delete only if the flow's ETag still matches.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            flow_id=flow_id,
            client=client,
            force=force,
            if_match=if_match,
        )
    ).parsed
