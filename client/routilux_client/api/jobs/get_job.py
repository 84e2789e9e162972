from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job import Job
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    wait: float | Unset = 0.0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/jobs/{job_id}".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Job | Problem | None:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())

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
) -> Response[Job | Problem]:
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
    wait: float | Unset = 0.0,
) -> Response[Job | Problem]:
    """Get a job: status, input, output, error, progress per routine and timestamps

     With `wait=S`, the answer comes as soon as the job is finished (`completed`, `failed`,
    `cancelled`) or `paused`, or after S seconds with the job as it is then: a script waits for
    a job with one request at a time, with neither polling nor a WebSocket.

    Args:
        job_id (str):
        wait (float | Unset): Seconds to wait for the job to finish or pause (long poll); 0:
            answer at once. Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        wait=wait,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: float | Unset = 0.0,
) -> Job | Problem | None:
    """Get a job: status, input, output, error, progress per routine and timestamps

     With `wait=S`, the answer comes as soon as the job is finished (`completed`, `failed`,
    `cancelled`) or `paused`, or after S seconds with the job as it is then: a script waits for
    a job with one request at a time, with neither polling nor a WebSocket.

    Args:
        job_id (str):
        wait (float | Unset): Seconds to wait for the job to finish or pause (long poll); 0:
            answer at once. Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        wait=wait,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: float | Unset = 0.0,
) -> Response[Job | Problem]:
    """Get a job: status, input, output, error, progress per routine and timestamps

     With `wait=S`, the answer comes as soon as the job is finished (`completed`, `failed`,
    `cancelled`) or `paused`, or after S seconds with the job as it is then: a script waits for
    a job with one request at a time, with neither polling nor a WebSocket.

    Args:
        job_id (str):
        wait (float | Unset): Seconds to wait for the job to finish or pause (long poll); 0:
            answer at once. Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        wait=wait,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: float | Unset = 0.0,
) -> Job | Problem | None:
    """Get a job: status, input, output, error, progress per routine and timestamps

     With `wait=S`, the answer comes as soon as the job is finished (`completed`, `failed`,
    `cancelled`) or `paused`, or after S seconds with the job as it is then: a script waits for
    a job with one request at a time, with neither polling nor a WebSocket.

    Args:
        job_id (str):
        wait (float | Unset): Seconds to wait for the job to finish or pause (long poll); 0:
            answer at once. Default: 0.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            wait=wait,
        )
    ).parsed
