"""``Idempotency-Key``: the same key and body give the same resource; another body is a 422.

One rule for every operation that takes a key (``create_flow``, ``execute_flow``): requests with
the same key run one at a time; an earlier request's resource is returned while it exists; else
the resource is created, and the key is committed with it, in the same transaction, so that no
crash can leave a key without its resource or a resource without its key.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Header
from pydantic import BaseModel

from routilux.engine.storage import Idempotency
from routilux.jsonutil import dumps
from routilux.server.errors import ApiError, ProblemError
from routilux.store import SqlStore

T = TypeVar("T")

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
    return hashlib.sha256(dumps(data, sort_keys=True)).hexdigest()


def request_key(
    header: str | None, scope: str, body: BaseModel | dict[str, Any]
) -> Idempotency | None:
    """The request's key in ``scope`` (an operation, and the resource it acts on if any)."""
    if header is None:
        return None
    return Idempotency(key=header, scope=scope, fingerprint=fingerprint(body))


class IdempotencyKeys:
    """Runs the operations that take an ``Idempotency-Key`` (see the module)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._locks = _KeyLocks()

    async def once(
        self,
        key: Idempotency | None,
        find: Callable[[str], Awaitable[T | None]],
        create: Callable[[Idempotency | None], Awaitable[T]],
    ) -> T:
        """What an earlier request with ``key`` created, if ``find`` still finds it by its id;
        else ``create(key)``, which commits the key with what it creates (one transaction)."""
        if key is None:
            return await create(None)
        async with self._locks.hold(key):
            resource_id = await self._earlier(key)
            if resource_id is not None:
                found = await find(resource_id)
                if found is not None:
                    return found
            # The key's first use, or what it created is gone since (deleted, or past
            # retention): create it again, under the same key.
            return await create(key)

    async def _earlier(self, key: Idempotency) -> str | None:
        """The id of the resource an earlier request with this key created, if any."""
        found = await self._store.find_idempotency(key.key, key.scope)
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


class _KeyLocks:
    """Serialises requests that carry the same key, so two concurrent first uses of a key
    cannot both create a resource."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Idempotency) -> AsyncIterator[None]:
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
