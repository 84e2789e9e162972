"""Routilux: an event-driven workflow engine and its HTTP server."""

__version__ = "1.0.0"
