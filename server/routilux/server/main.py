"""An app configured from the environment, for uvicorn:

- ``uvicorn --factory routilux.server.main:create_app`` builds it when uvicorn starts;
- ``uvicorn routilux.server.main:app`` builds it on first access of ``app``.

Either way the settings are checked (no keys: loopback only) and logging is configured.
"""

from __future__ import annotations

from fastapi import FastAPI

from routilux.server.app import create_app as build_app
from routilux.server.logs import configure_logging
from routilux.server.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """A zero-argument factory: the settings from ``ROUTILUX_*`` unless given."""
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return build_app(settings)


def __getattr__(name: str) -> FastAPI:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = create_app()
    globals()["app"] = built  # built once
    return built
