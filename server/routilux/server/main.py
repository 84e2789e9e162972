"""``uvicorn routilux.server.main:app``: an app configured from the environment."""

from routilux.server.app import create_app

app = create_app()
