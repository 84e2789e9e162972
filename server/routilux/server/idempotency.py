"""``Idempotency-Key``: the same key and body give the same resource; another body is a 422."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import Header
from pydantic import BaseModel

from routilux.engine.store import Idempotency
from routilux.server.errors import ApiError, ProblemError
from routilux.store import SqlStore

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a request safely: the same key and body return the same result "
        "for at least 24 hours.",
    ),
]


def fingerprint(body: BaseModel | dict[str, Any]) -> str:
    data = body.model_dump(mode="json", by_alias=True) if isinstance(body, BaseModel) else body
    try:
        encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


async def idempotent(store: SqlStore, key: Idempotency) -> str | None:
    """The id of the resource an earlier request with this key created, if any."""
    found = await store.find_idempotency(key.key, key.scope)
    if found is None:
        return None
    stored_fingerprint, resource_id = found
    if stored_fingerprint != key.fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body",
            errors=[
                ProblemError(
                    loc=["header", "Idempotency-Key"],
                    msg="key already used with another body",
                    type="idempotency_key_reused",
                )
            ],
        )
    return resource_id


class KeyLocks:
    """Serialises requests that carry the same key, so two concurrent first uses of a key
    cannot both create a resource."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Idempotency | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        name = (key.scope, key.key)
        lock, users = self._locks.get(name, (asyncio.Lock(), 0))
        self._locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[name]
            if users == 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)
