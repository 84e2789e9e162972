from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_log_page import JobLogPage
from ...models.log_level import LogLevel
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    after: int | Unset = 0,
    limit: int | Unset = 100,
    level: LogLevel | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["after"] = after

    params["limit"] = limit

    json_level: str | Unset = UNSET
    if not isinstance(level, Unset):
        json_level = level.value

    params["level"] = json_level

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/jobs/{job_id}/logs".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobLogPage | Problem | None:
    if response.status_code == 200:
        response_200 = JobLogPage.from_dict(response.json())

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
) -> Response[JobLogPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 100,
    level: LogLevel | Unset = UNSET,
) -> Response[JobLogPage | Problem]:
    """List what the job's routines logged, oldest first, with routine, activation and attempt

     Lines that routine code writes through Python's `logging` while it runs for this job, at the
    server's log level or above (`ROUTILUX_LOG_LEVEL`). A job keeps its first
    `ROUTILUX_LOGS_PER_JOB` lines; one last line says how many more were dropped. To follow a
    running job, pass the last `id` seen as `after` (or `next_after`) and ask again.

    Args:
        job_id (str):
        after (int | Unset): Only lines with a greater id. Default: 0.
        limit (int | Unset): Lines at most. Default: 100.
        level (LogLevel | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobLogPage | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        after=after,
        limit=limit,
        level=level,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 100,
    level: LogLevel | Unset = UNSET,
) -> JobLogPage | Problem | None:
    """List what the job's routines logged, oldest first, with routine, activation and attempt

     Lines that routine code writes through Python's `logging` while it runs for this job, at the
    server's log level or above (`ROUTILUX_LOG_LEVEL`). A job keeps its first
    `ROUTILUX_LOGS_PER_JOB` lines; one last line says how many more were dropped. To follow a
    running job, pass the last `id` seen as `after` (or `next_after`) and ask again.

    Args:
        job_id (str):
        after (int | Unset): Only lines with a greater id. Default: 0.
        limit (int | Unset): Lines at most. Default: 100.
        level (LogLevel | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobLogPage | Problem
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        after=after,
        limit=limit,
        level=level,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 100,
    level: LogLevel | Unset = UNSET,
) -> Response[JobLogPage | Problem]:
    """List what the job's routines logged, oldest first, with routine, activation and attempt

     Lines that routine code writes through Python's `logging` while it runs for this job, at the
    server's log level or above (`ROUTILUX_LOG_LEVEL`). A job keeps its first
    `ROUTILUX_LOGS_PER_JOB` lines; one last line says how many more were dropped. To follow a
    running job, pass the last `id` seen as `after` (or `next_after`) and ask again.

    Args:
        job_id (str):
        after (int | Unset): Only lines with a greater id. Default: 0.
        limit (int | Unset): Lines at most. Default: 100.
        level (LogLevel | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobLogPage | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        after=after,
        limit=limit,
        level=level,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 100,
    level: LogLevel | Unset = UNSET,
) -> JobLogPage | Problem | None:
    """List what the job's routines logged, oldest first, with routine, activation and attempt

     Lines that routine code writes through Python's `logging` while it runs for this job, at the
    server's log level or above (`ROUTILUX_LOG_LEVEL`). A job keeps its first
    `ROUTILUX_LOGS_PER_JOB` lines; one last line says how many more were dropped. To follow a
    running job, pass the last `id` seen as `after` (or `next_after`) and ask again.

    Args:
        job_id (str):
        after (int | Unset): Only lines with a greater id. Default: 0.
        limit (int | Unset): Lines at most. Default: 100.
        level (LogLevel | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobLogPage | Problem
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            after=after,
            limit=limit,
            level=level,
        )
    ).parsed
