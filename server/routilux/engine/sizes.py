"""A cheap estimate of the memory a queued delivery holds, for the per-job backlog bound.

It runs once per delivery, on the hot path, so it never serialises and never walks a payload
deeply: it looks at the payload's top level only. That is also what a delivery adds to memory in
this engine: a routine's output is routed by reference (a fan-out gives each branch a shallow copy
of the top-level dict), so nested values are shared between queued deliveries, not copied. What
is counted: a fixed cost per delivery (the activation record, its tuple and the top-level dict),
per top-level entry a slot and the value's own size: the length of a string, eight bytes per
element of a list or dict (its references), a constant for a number.
"""

from __future__ import annotations

from typing import Any

from routilux import jsonutil

DELIVERY_OVERHEAD = 400
"""Bytes per queued delivery whatever it carries: activation, inputs tuple, item, empty dict."""
ENTRY_OVERHEAD = 64
"""Bytes per top-level key: the dict slot, the key and the value's object header."""


def payload_size(payload: dict[str, Any]) -> int:
    """Estimated bytes a queued delivery of ``payload`` holds (top level only; see module)."""
    size = DELIVERY_OVERHEAD + ENTRY_OVERHEAD * len(payload)
    for value in payload.values():
        kind = type(value)
        if kind is str or kind is bytes:
            size += len(value)
        elif kind is list or kind is dict or kind is tuple:
            size += 8 * len(value)
    return size


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON, what the HTTP layer measures: see
    :func:`routilux.jsonutil.size`."""
    return jsonutil.size(value)


def input_bytes(data: dict[str, Any]) -> int:
    """A job input's size as compact JSON (what the HTTP layer measures as well)."""
    return json_size(data)
