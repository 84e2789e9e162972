"""What the contract suite shares: the Schemathesis configuration, and apps with data in them.

The configuration is `schemathesis.toml` (the one scripts/schemathesis uses against a live server),
completed for the mode of the run: with auth on, every request carries the key, so `ignored_auth`
can check that each protected operation refuses to run without it; with auth off, see
``load_config``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi

from routilux.server import Settings, create_app
from routilux.server.schemas.flows import FLOW_EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "schemathesis.toml"
API_KEY = "contract-suite-key"


def load_config(*, auth: bool) -> schemathesis.Config:
    data: dict[str, Any] = tomllib.loads(CONFIG_PATH.read_text())
    if auth:
        data["headers"] = {"X-API-Key": API_KEY}
    else:
        # Auth off: the schema still declares the key (the server may have one elsewhere, and the
        # client must know it), but this server accepts every request. `ignored_auth` would only
        # report exactly that, so it is left out, and the key is not generated as a parameter
        # (a missing one is not an error here). The auth-on run checks both.
        data.setdefault("checks", {})["ignored_auth"] = {"enabled": False}
        data.setdefault("generation", {})["with-security-parameters"] = False
    return schemathesis.Config.from_dict(data, base_dir=str(ROOT))


def make_app(data_dir: Path, *, auth: bool) -> FastAPI:
    return create_app(
        Settings(data_dir=data_dir, api_keys=[API_KEY] if auth else [], _env_file=None)  # type: ignore[call-arg]
    )


def load_schema(app: FastAPI, *, auth: bool) -> Any:
    """The app's own schema, through ASGI (this starts the app's lifespan), after seeding data."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=load_config(auth=auth))
    seed(app, auth=auth)
    return schema


def seed(app: FastAPI, *, auth: bool) -> None:
    """Flows, jobs in each state and a breakpoint, so that lists and reads return real objects.

    Requests go through Schemathesis' own ASGI client: the same event loop as the cases.
    """
    headers = {"X-API-Key": API_KEY} if auth else {}
    with asgi.get_client(app) as client:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body, headers=headers)
            assert response.status_code in (200, 201, 202), response.text
            result: dict[str, Any] = response.json()
            return result

        post("/api/v1/flows", FLOW_EXAMPLE)
        post("/api/v1/flows", {"flow_id": "slow", "routines": {"wait": {"class": "Delay"}}})
        post("/api/v1/flows/greetings/execute", {"data": {"user": {"name": "Ada"}, "age": 36}})
        post("/api/v1/flows/slow/execute", {"data": {"n": 1}})
        post(
            "/api/v1/breakpoints",
            {"flow_id": "greetings", "routine_id": "adults", "condition": "data.age > 60"},
        )
        post("/api/v1/flows/greetings/execute", {"data": {"user": {"name": "Old"}, "age": 90}})


def stop() -> None:
    """End the app lifespans Schemathesis started: runtimes and stores shut down cleanly."""
    asgi.shutdown_lifespans()
