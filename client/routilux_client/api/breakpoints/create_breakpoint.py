from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.breakpoint_ import Breakpoint
from ...models.breakpoint_create import BreakpointCreate
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: BreakpointCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/breakpoints",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Breakpoint | Problem | None:
    if response.status_code == 201:
        response_201 = Breakpoint.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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
) -> Response[Breakpoint | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointCreate,
) -> Response[Breakpoint | Problem]:
    """Create a breakpoint on a flow's routine; matching jobs pause before the routine runs

     It applies to jobs already running and to future ones. The condition is a CEL expression
    over the payload `data`, checked when the breakpoint is created.

    Args:
        body (BreakpointCreate): Where to pause: a flow's routine, optionally one slot, one job,
            and a condition.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Breakpoint | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointCreate,
) -> Breakpoint | Problem | None:
    """Create a breakpoint on a flow's routine; matching jobs pause before the routine runs

     It applies to jobs already running and to future ones. The condition is a CEL expression
    over the payload `data`, checked when the breakpoint is created.

    Args:
        body (BreakpointCreate): Where to pause: a flow's routine, optionally one slot, one job,
            and a condition.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Breakpoint | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointCreate,
) -> Response[Breakpoint | Problem]:
    """Create a breakpoint on a flow's routine; matching jobs pause before the routine runs

     It applies to jobs already running and to future ones. The condition is a CEL expression
    over the payload `data`, checked when the breakpoint is created.

    Args:
        body (BreakpointCreate): Where to pause: a flow's routine, optionally one slot, one job,
            and a condition.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Breakpoint | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointCreate,
) -> Breakpoint | Problem | None:
    """Create a breakpoint on a flow's routine; matching jobs pause before the routine runs

     It applies to jobs already running and to future ones. The condition is a CEL expression
    over the payload `data`, checked when the breakpoint is created.

    Args:
        body (BreakpointCreate): Where to pause: a flow's routine, optionally one slot, one job,
            and a condition.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Breakpoint | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
