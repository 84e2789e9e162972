"""``update_flow`` with a YAML body: a Routilux DSL file sent as it is written.

Like ``create_flow_yaml``: the generated ``update_flow`` takes a ``FlowCreate`` (JSON); this
module sends the document as ``application/yaml`` instead, so the server reports errors against
the YAML as written, and answers exactly as ``update_flow`` does::

    text = Path("greet.yaml").read_text()
    flow = unwrap(update_flow_yaml.sync("greet", client=client, body=text))
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from routilux_client.api.flows import update_flow
from routilux_client.helpers.connection import RoutiluxClient
from routilux_client.helpers.create_flow_yaml import YAML_MEDIA_TYPE
from routilux_client.models.flow_created import FlowCreated
from routilux_client.models.problem import Problem
from routilux_client.types import UNSET, Response, Unset


def _get_kwargs(flow_id: str, *, body: str | bytes, if_match: str | Unset) -> dict[str, Any]:
    headers = {"Content-Type": YAML_MEDIA_TYPE}
    if isinstance(if_match, str):
        headers["If-Match"] = if_match
    content = body.encode() if isinstance(body, str) else body
    url = f"/api/v1/flows/{quote(flow_id, safe='')}"
    return {"method": "put", "url": url, "content": content, "headers": headers}


def sync_detailed(
    flow_id: str, *, client: RoutiluxClient, body: str | bytes, if_match: str | Unset = UNSET
) -> Response[FlowCreated | Problem]:
    """Replace a flow's document with a YAML one; the ``Response`` with its status and headers."""
    response = client.get_httpx_client().request(
        **_get_kwargs(flow_id, body=body, if_match=if_match)
    )
    # The same parsing as the JSON variant: the statuses and models are the operation's.
    return update_flow._build_response(client=client, response=response)


def sync(
    flow_id: str, *, client: RoutiluxClient, body: str | bytes, if_match: str | Unset = UNSET
) -> FlowCreated | Problem | None:
    """Replace a flow's document with a YAML one: the revised flow, or the ``Problem``."""
    return sync_detailed(flow_id, client=client, body=body, if_match=if_match).parsed


async def asyncio_detailed(
    flow_id: str, *, client: RoutiluxClient, body: str | bytes, if_match: str | Unset = UNSET
) -> Response[FlowCreated | Problem]:
    """``sync_detailed``, asynchronously."""
    response = await client.get_async_httpx_client().request(
        **_get_kwargs(flow_id, body=body, if_match=if_match)
    )
    return update_flow._build_response(client=client, response=response)


async def asyncio(
    flow_id: str, *, client: RoutiluxClient, body: str | bytes, if_match: str | Unset = UNSET
) -> FlowCreated | Problem | None:
    """``sync``, asynchronously."""
    detailed = await asyncio_detailed(flow_id, client=client, body=body, if_match=if_match)
    return detailed.parsed
