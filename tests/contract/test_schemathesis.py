"""Schemathesis on every operation of the app, in process through ASGI, with every check: the
examples, coverage and fuzzing phases per operation, then the stateful phase along the schema's
links. Once with auth on and once with auth off; the settings are in schemathesis.toml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from schemathesis import Case

from tests.contract.harness import ContractApp

WITH_AUTH = ContractApp(auth=True)
WITHOUT_AUTH = ContractApp(auth=False)


@pytest.fixture(scope="module", autouse=True)
def running() -> Iterator[None]:
    try:
        WITH_AUTH.start()
        WITHOUT_AUTH.start()
        yield
    finally:
        WITH_AUTH.stop()
        WITHOUT_AUTH.stop()


@WITH_AUTH.schema.parametrize()
def test_every_operation_with_auth(case: Case[Any]) -> None:
    case.call_and_validate()


@WITHOUT_AUTH.schema.parametrize()
def test_every_operation_without_auth(case: Case[Any]) -> None:
    case.call_and_validate()


def test_stateful_with_auth() -> None:
    """Scenarios along the links (create a flow, execute it, read and cancel the job; create a
    breakpoint, read, resume and delete it), with `use_after_free` and
    `ensure_resource_availability` among the checks."""
    assert WITH_AUTH.run_stateful() == []


def test_stateful_without_auth() -> None:
    assert WITHOUT_AUTH.run_stateful() == []
