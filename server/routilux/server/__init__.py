"""The HTTP server: ``from routilux.server import create_app``."""

from routilux.server.app import create_app
from routilux.server.settings import Settings

__all__ = ["Settings", "create_app"]
