"""Request dependencies: the objects ``create_app`` built, taken from ``app.state``.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
a round trip that cost more than the rest of a simple request. The busiest routes (a job, the
flows, the job list, execute) go further and take the ``Request`` itself, reading
``runtime_of(request)`` and the like: each ``Depends`` still costs some dependency solving.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from routilux.engine.runtime import Runtime
from routilux.server.idempotency import IdempotencyKeys
from routilux.server.settings import Settings
from routilux.store import SqlStore


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def store_of(request: Request) -> SqlStore:
    store: SqlStore = request.app.state.store
    return store


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def idempotency_of(request: Request) -> IdempotencyKeys:
    keys: IdempotencyKeys = request.app.state.idempotency
    return keys


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


async def get_store(request: Request) -> SqlStore:
    return store_of(request)


async def get_settings(request: Request) -> Settings:
    return settings_of(request)


async def get_idempotency(request: Request) -> IdempotencyKeys:
    return idempotency_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StoreDep = Annotated[SqlStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IdempotencyDep = Annotated[IdempotencyKeys, Depends(get_idempotency)]
