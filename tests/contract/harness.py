"""What the contract suite shares: the Schemathesis configuration, and apps with data in them.

The configuration is `schemathesis.toml` (the one scripts/schemathesis uses against a live server),
completed for the mode of the run: with auth on, every request carries the key, so `ignored_auth`
can check that each protected operation refuses to run without it; with auth off, see
``load_config``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any, cast

import schemathesis
import schemathesis.engine
from fastapi import FastAPI
from schemathesis.engine import events
from schemathesis.python import asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema

from routilux.server import Settings, create_app
from routilux.server.schemas.flows import FLOW_EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "schemathesis.toml"
API_KEY = "contract-suite-key"


def load_config(*, auth: bool, only_stateful: bool = False) -> schemathesis.Config:
    data: dict[str, Any] = tomllib.loads(CONFIG_PATH.read_text())
    if only_stateful:
        phases = data.setdefault("phases", {})
        for name in ("examples", "coverage", "fuzzing"):
            phases.setdefault(name, {})["enabled"] = False
        # Scenarios start from new flows that can run: one routine (a short Delay, so that a job
        # is still running when a scenario cancels it), no connections and no explicit entry.
        # Everything else in the document, and the job's data, stays generated. Fuzzing flow
        # documents is the other phases' work.
        data.setdefault("operations", []).extend(
            [
                {
                    "include-operation-id": "create_flow",
                    "parameters": {
                        "body.routines": {"wait": {"class": "Delay", "config": {"seconds": 1}}},
                        "body.connections": [],
                        "body.entry": None,
                    },
                },
                {"include-operation-id": "execute_flow", "parameters": {"body.entry": None}},
            ]
        )
    if auth:
        data["auth"] = {"openapi": {"ApiKeyAuth": {"api_key": API_KEY}}}
    else:
        # Auth off: the schema still declares the key (a deployment may require it, and clients
        # must know it), but this server takes every request. `ignored_auth` would report exactly
        # that, so it is left out here, and the key is not generated as a parameter (a missing one
        # is no error here). The auth-on run checks both.
        data.setdefault("checks", {})["ignored_auth"] = {"enabled": False}
        data.setdefault("generation", {})["with-security-parameters"] = False
    return schemathesis.Config.from_dict(data, base_dir=str(ROOT))


class ContractApp:
    """An app under test and its Schemathesis schema.

    Both exist from import on, because ``schema.parametrize()`` needs the operations when pytest
    collects; nothing runs until ``start``: the database folder does not exist before, and the
    app's lifespan (store and runtime) begins with the first request, in Schemathesis' ASGI event
    loop, where every case then runs.
    """

    def __init__(self, *, auth: bool) -> None:
        self.auth = auth
        self.data_dir = Path(tempfile.gettempdir()) / (
            f"routilux-contract-{os.getpid()}-{'auth' if auth else 'open'}"
        )
        self.headers = {"X-API-Key": API_KEY} if auth else {}
        self.app: FastAPI = create_app(
            Settings(
                data_dir=self.data_dir,
                api_keys=[API_KEY] if auth else [],
                allowed_hosts=["testserver"],  # what its in-process client sends as Host
                _env_file=None,
            )
        )
        self.schema: OpenApiSchema = schemathesis.openapi.from_dict(
            self.app.openapi(), config=load_config(auth=auth)
        )
        self.schema.app = self.app
        self.schema.location = "/openapi.json"

    def start(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        with asgi.get_client(cast(Any, self.app)) as client:
            served = client.get("/openapi.json")
            assert served.json() == self.schema.raw_schema, "the app serves another schema"
            self._seed(client)

    def _seed(self, client: Any) -> None:
        """Flows, a breakpoint and jobs in each state (completed, failed, running, paused at the
        breakpoint), so that reads return real objects from the first case on."""

        def post(path: str, body: dict[str, Any]) -> None:
            response = client.post(path, json=body, headers=self.headers)
            assert response.status_code in (200, 201, 202), response.text

        ages = {
            "flow_id": "ages",
            "routines": {
                "shape": {"class": "Mapper", "config": {"mappings": {"age": "age"}}},
                "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
            },
            "connections": [{"from": "shape.output", "to": "adults.input"}],
        }
        post("/api/v1/flows", FLOW_EXAMPLE)
        post("/api/v1/flows", ages)
        slow = {
            "flow_id": "slow",
            "routines": {"wait": {"class": "Delay", "config": {"seconds": 600}}},
        }
        post("/api/v1/flows", slow)
        post(
            "/api/v1/breakpoints",
            {"flow_id": "ages", "routine_id": "adults", "condition": "data.age > 60"},
        )
        post("/api/v1/flows/ages/execute", {"data": {"age": 36}})
        post("/api/v1/flows/ages/execute", {"data": {"age": 90}})
        post("/api/v1/flows/greet/execute", {"data": {"user": {"name": "Ada"}}})
        post("/api/v1/flows/slow/execute", {"data": {"n": 1}})

    def run_stateful(self) -> list[str]:
        """The stateful phase, run by Schemathesis' own engine (as its command line runs it) on
        this app: scenarios along the schema's links, every check on each step. Returns each
        failure, described with the requests that reproduce it.

        The engine, unlike a plain Hypothesis state machine, copes with a server whose state
        changes between scenarios (a replay that cannot diverge the same way is not a failure).
        """
        schema = schemathesis.openapi.from_dict(
            self.schema.raw_schema, config=load_config(auth=self.auth, only_stateful=True)
        )
        schema.app = self.app
        schema.location = self.schema.location
        problems: list[str] = []
        ran = 0
        for event in schemathesis.engine.from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                ran += 1
                for checks in event.recorder.checks.values():
                    for check in checks:
                        if check.failure_info is not None:
                            failure = check.failure_info.failure
                            steps = "\n".join(step.curl for step in check.failure_info.steps)
                            problems.append(f"{failure.title}: {failure.message}\n{steps}")
            elif isinstance(event, events.NonFatalError):
                problems.append(f"error in {event.label}: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                problems.append(f"fatal: {event.exception!r}")
            elif isinstance(event, events.EngineFinished):
                problems += [f"{failure.title}: {failure.message}" for failure in event.failures]
        assert ran, "the stateful phase ran no scenario"
        return problems

    def stop(self) -> None:
        """End the lifespans Schemathesis started (runtimes and stores shut down cleanly)."""
        asgi.shutdown_lifespans()
        shutil.rmtree(self.data_dir, ignore_errors=True)
