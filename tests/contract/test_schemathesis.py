"""Schemathesis on every operation of the app, in process through ASGI, with every check: the
examples, coverage and fuzzing phases per operation, then the stateful phase along the schema's
links. Once with auth on and once with auth off; settings in schemathesis.toml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case

from tests.contract import harness


def _schema(tmp_path_factory: pytest.TempPathFactory, *, auth: bool) -> Iterator[Any]:
    app = harness.make_app(tmp_path_factory.mktemp("auth" if auth else "open"), auth=auth)
    try:
        yield harness.load_schema(app, auth=auth)
    finally:
        harness.stop()


@pytest.fixture(scope="module")
def schema_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _schema(tmp_path_factory, auth=True)


@pytest.fixture(scope="module")
def schema_without_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _schema(tmp_path_factory, auth=False)


with_auth = schemathesis.pytest.from_fixture("schema_with_auth")
without_auth = schemathesis.pytest.from_fixture("schema_without_auth")


@with_auth.parametrize()
def test_every_operation_with_auth(case: Case) -> None:
    case.call_and_validate()


@without_auth.parametrize()
def test_every_operation_without_auth(case: Case) -> None:
    case.call_and_validate()


def _run_state_machine(schema: Any) -> None:
    project = schema.config
    machine = schema.as_state_machine()
    machine.run(
        settings=hypothesis.settings(
            max_examples=project.generation.max_examples,
            stateful_step_count=project.phases.stateful.max_steps,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


def test_stateful_with_auth(schema_with_auth: Any) -> None:
    _run_state_machine(schema_with_auth)


def test_stateful_without_auth(schema_without_auth: Any) -> None:
    _run_state_machine(schema_without_auth)
