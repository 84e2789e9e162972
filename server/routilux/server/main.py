"""``uvicorn routilux.server.main:app``: an app configured from the environment."""

from routilux.server.app import create_app
from routilux.server.logs import configure_logging
from routilux.server.settings import Settings

settings = Settings()
configure_logging(settings.log_level, json=settings.log_json)
app = create_app(settings)
