from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.breakpoint_resume import BreakpointResume
from ...models.breakpoint_resumed import BreakpointResumed
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    breakpoint_id: str,
    *,
    body: BreakpointResume | None | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/breakpoints/{breakpoint_id}/resume".format(
            breakpoint_id=quote(str(breakpoint_id), safe=""),
        ),
    }

    if isinstance(body, BreakpointResume):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BreakpointResumed | Problem | None:
    if response.status_code == 200:
        response_200 = BreakpointResumed.from_dict(response.json())

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
) -> Response[BreakpointResumed | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    breakpoint_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointResume | None | Unset = UNSET,
) -> Response[BreakpointResumed | Problem]:
    """Resume the jobs waiting at a breakpoint (or only job_id); 409 if none waits there

    Args:
        breakpoint_id (str):
        body (BreakpointResume | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BreakpointResumed | Problem]
    """

    kwargs = _get_kwargs(
        breakpoint_id=breakpoint_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    breakpoint_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointResume | None | Unset = UNSET,
) -> BreakpointResumed | Problem | None:
    """Resume the jobs waiting at a breakpoint (or only job_id); 409 if none waits there

    Args:
        breakpoint_id (str):
        body (BreakpointResume | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BreakpointResumed | Problem
    """

    return sync_detailed(
        breakpoint_id=breakpoint_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    breakpoint_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointResume | None | Unset = UNSET,
) -> Response[BreakpointResumed | Problem]:
    """Resume the jobs waiting at a breakpoint (or only job_id); 409 if none waits there

    Args:
        breakpoint_id (str):
        body (BreakpointResume | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BreakpointResumed | Problem]
    """

    kwargs = _get_kwargs(
        breakpoint_id=breakpoint_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    breakpoint_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BreakpointResume | None | Unset = UNSET,
) -> BreakpointResumed | Problem | None:
    """Resume the jobs waiting at a breakpoint (or only job_id); 409 if none waits there

    Args:
        breakpoint_id (str):
        body (BreakpointResume | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BreakpointResumed | Problem
    """

    return (
        await asyncio_detailed(
            breakpoint_id=breakpoint_id,
            client=client,
            body=body,
        )
    ).parsed
