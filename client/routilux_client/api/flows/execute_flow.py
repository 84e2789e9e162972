from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job import Job
from ...models.job_execute import JobExecute
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    flow_id: str,
    *,
    body: JobExecute,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["idempotency-key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/flows/{flow_id}/execute".format(
            flow_id=quote(str(flow_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Job | Problem | None:
    if response.status_code == 202:
        response_202 = Job.from_dict(response.json())

        return response_202

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[Job | Problem]:
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
    body: JobExecute,
    idempotency_key: str | Unset = UNSET,
) -> Response[Job | Problem]:
    """Execute a flow on data: answers 202 with the queued job once it is stored

     With an `Idempotency-Key`, repeating the same request returns the same job; reusing the key
    with a different body is a 422.

    Args:
        flow_id (str):
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (JobExecute): Input for a new job of a flow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: JobExecute,
    idempotency_key: str | Unset = UNSET,
) -> Job | Problem | None:
    """Execute a flow on data: answers 202 with the queued job once it is stored

     With an `Idempotency-Key`, repeating the same request returns the same job; reusing the key
    with a different body is a 422.

    Args:
        flow_id (str):
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (JobExecute): Input for a new job of a flow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return sync_detailed(
        flow_id=flow_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: JobExecute,
    idempotency_key: str | Unset = UNSET,
) -> Response[Job | Problem]:
    """Execute a flow on data: answers 202 with the queued job once it is stored

     With an `Idempotency-Key`, repeating the same request returns the same job; reusing the key
    with a different body is a 422.

    Args:
        flow_id (str):
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (JobExecute): Input for a new job of a flow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
    """

    kwargs = _get_kwargs(
        flow_id=flow_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    flow_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: JobExecute,
    idempotency_key: str | Unset = UNSET,
) -> Job | Problem | None:
    """Execute a flow on data: answers 202 with the queued job once it is stored

     With an `Idempotency-Key`, repeating the same request returns the same job; reusing the key
    with a different body is a 422.

    Args:
        flow_id (str):
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (JobExecute): Input for a new job of a flow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
    """

    return (
        await asyncio_detailed(
            flow_id=flow_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
