"""``create_flow`` with a YAML body: a Routilux DSL file posted as it is written.

The generator only writes JSON bodies, so the generated ``create_flow`` takes a ``FlowCreate``;
this module sends the document as ``application/yaml`` instead (the server then reports errors
against the YAML as written) and answers exactly as ``create_flow`` does::

    flow = unwrap(create_flow_yaml.sync(client=client, body=Path("greet.yaml").read_text()))
"""

from __future__ import annotations

from typing import Any

from routilux_client.api.flows import create_flow
from routilux_client.helpers.connection import RoutiluxClient
from routilux_client.models.flow_created import FlowCreated
from routilux_client.models.problem import Problem
from routilux_client.types import UNSET, Response, Unset

YAML_MEDIA_TYPE = "application/yaml"


def _get_kwargs(*, body: str | bytes, idempotency_key: str | Unset | None) -> dict[str, Any]:
    headers = {"Content-Type": YAML_MEDIA_TYPE}
    if isinstance(idempotency_key, str):
        headers["Idempotency-Key"] = idempotency_key
    content = body.encode() if isinstance(body, str) else body
    return {"method": "post", "url": "/api/v1/flows", "content": content, "headers": headers}


def sync_detailed(
    *, client: RoutiluxClient, body: str | bytes, idempotency_key: str | Unset | None = UNSET
) -> Response[FlowCreated | Problem]:
    """Create a flow from a YAML document; the ``Response`` with its status and headers."""
    response = client.get_httpx_client().request(
        **_get_kwargs(body=body, idempotency_key=idempotency_key)
    )
    # The same parsing as the JSON variant: the statuses and models are the operation's.
    return create_flow._build_response(client=client, response=response)


def sync(
    *, client: RoutiluxClient, body: str | bytes, idempotency_key: str | Unset | None = UNSET
) -> FlowCreated | Problem | None:
    """Create a flow from a YAML document: the ``FlowCreated``, or the ``Problem``."""
    return sync_detailed(client=client, body=body, idempotency_key=idempotency_key).parsed


async def asyncio_detailed(
    *, client: RoutiluxClient, body: str | bytes, idempotency_key: str | Unset | None = UNSET
) -> Response[FlowCreated | Problem]:
    """``sync_detailed``, asynchronously."""
    response = await client.get_async_httpx_client().request(
        **_get_kwargs(body=body, idempotency_key=idempotency_key)
    )
    return create_flow._build_response(client=client, response=response)


async def asyncio(
    *, client: RoutiluxClient, body: str | bytes, idempotency_key: str | Unset | None = UNSET
) -> FlowCreated | Problem | None:
    """``sync``, asynchronously."""
    detailed = await asyncio_detailed(client=client, body=body, idempotency_key=idempotency_key)
    return detailed.parsed
