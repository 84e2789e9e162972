from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.flow_create import FlowCreate
from ...models.flow_created import FlowCreated
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: FlowCreate,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["idempotency-key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/flows",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FlowCreated | Problem | None:
    if response.status_code == 201:
        response_201 = FlowCreated.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

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
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[FlowCreated | Problem]:
    """Create a flow from a Routilux flow document

     The body is the DSL document (`routines`, `connections`, `execution`), as JSON or as YAML
    with `Content-Type: application/yaml`. Everything is validated before the flow is stored:
    unknown routine types, events or slots, invalid configs and bad references are reported
    together, each with its location. `flow_id` is generated when absent.

    Args:
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlowCreated | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    idempotency_key: str | Unset = UNSET,
) -> FlowCreated | Problem | None:
    """Create a flow from a Routilux flow document

     The body is the DSL document (`routines`, `connections`, `execution`), as JSON or as YAML
    with `Content-Type: application/yaml`. Everything is validated before the flow is stored:
    unknown routine types, events or slots, invalid configs and bad references are reported
    together, each with its location. `flow_id` is generated when absent.

    Args:
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlowCreated | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[FlowCreated | Problem]:
    """Create a flow from a Routilux flow document

     The body is the DSL document (`routines`, `connections`, `execution`), as JSON or as YAML
    with `Content-Type: application/yaml`. Everything is validated before the flow is stored:
    unknown routine types, events or slots, invalid configs and bad references are reported
    together, each with its location. `flow_id` is generated when absent.

    Args:
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
        body (FlowCreate): A flow document, as written for Routilux (JSON, or YAML with
            `application/yaml`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlowCreated | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FlowCreate,
    idempotency_key: str | Unset = UNSET,
) -> FlowCreated | Problem | None:
    """Create a flow from a Routilux flow document

     The body is the DSL document (`routines`, `connections`, `execution`), as JSON or as YAML
    with `Content-Type: application/yaml`. Everything is validated before the flow is stored:
    unknown routine types, events or slots, invalid configs and bad references are reported
    together, each with its location. `flow_id` is generated when absent.

    Args:
        idempotency_key (str | Unset): Repeat a request safely: the same key and body return the
            same result for at least 24 hours.
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
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
