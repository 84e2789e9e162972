"""The ``routilux`` command: ``serve`` starts the server; the others talk to one through
routilux-client (``root`` assembles them; one module per group of commands)."""

from routilux.commands.root import app, main

__all__ = ["app", "main"]
