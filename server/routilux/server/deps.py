"""Request dependencies: the objects ``create_app`` built, taken from ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from routilux.engine.runtime import Runtime
from routilux.server.idempotency import KeyLocks
from routilux.server.settings import Settings
from routilux.store import SqlStore


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_store(request: Request) -> SqlStore:
    store: SqlStore = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_locks(request: Request) -> KeyLocks:
    locks: KeyLocks = request.app.state.idempotency_locks
    return locks


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StoreDep = Annotated[SqlStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LocksDep = Annotated[KeyLocks, Depends(get_locks)]
