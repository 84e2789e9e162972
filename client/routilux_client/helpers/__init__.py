"""What every user of the client would otherwise write: written by hand, kept on regeneration.

- ``connect(base_url, api_key=None)``: a client that sends the key as ``X-API-Key``.
- ``unwrap(result)`` and ``ProblemError``: raise problems instead of returning them.
- ``iterate`` / ``aiterate``: every item of a list, across pages.
- ``stream_events``: the live event stream, resumed with ``since`` after a drop.
- ``wait_for_job`` / ``wait_for_job_sync``: a job once it has finished.
- ``create_flow_yaml`` / ``update_flow_yaml``: ``create_flow`` / ``update_flow`` with a YAML body.
"""

from routilux_client.helpers import create_flow_yaml, update_flow_yaml
from routilux_client.helpers.connection import API_KEY_HEADER, RoutiluxClient, connect
from routilux_client.helpers.events import (
    TERMINAL_JOB_EVENTS,
    EventStream,
    StreamError,
    events_url,
    stream_events,
)
from routilux_client.helpers.jobs import FINISHED, wait_for_job, wait_for_job_sync
from routilux_client.helpers.pages import Page, aiterate, iterate
from routilux_client.helpers.problems import EmptyResultError, ProblemError, unwrap

__all__ = [
    "API_KEY_HEADER",
    "FINISHED",
    "TERMINAL_JOB_EVENTS",
    "EmptyResultError",
    "EventStream",
    "Page",
    "ProblemError",
    "RoutiluxClient",
    "StreamError",
    "aiterate",
    "connect",
    "create_flow_yaml",
    "events_url",
    "iterate",
    "stream_events",
    "unwrap",
    "update_flow_yaml",
    "wait_for_job",
    "wait_for_job_sync",
]
