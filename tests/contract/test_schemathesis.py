"""Schemathesis on every operation of the app, in process through ASGI, with every check: the
examples, coverage and fuzzing phases per operation, and the stateful phase along the schema's
links (in a process of its own, at the same time). Once with auth on and once with auth off; the
settings are in schemathesis.toml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from schemathesis import Case

from tests.contract.harness import ContractApp
from tests.contract.stateful import Background

WITH_AUTH = ContractApp(auth=True)
WITHOUT_AUTH = ContractApp(auth=False)


@pytest.fixture(scope="module")
def stateful() -> Iterator[Background]:
    run = Background()
    try:
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="module", autouse=True)
def running(stateful: Background) -> Iterator[None]:
    """The apps for the per-operation tests; the stateful phase has started beside them."""
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


# The stateful phase runs in a process of its own (tests/contract/stateful.py), started with this
# module: beside the per-operation tests, on the other core, rather than 20-30 s after them.
def test_stateful_with_auth(stateful: Background) -> None:
    """Scenarios along the links (create a flow, execute it, read and cancel the job; create a
    breakpoint, read, resume and delete it), with `use_after_free` and
    `ensure_resource_availability` among the checks."""
    assert stateful.problems("auth") == []


def test_stateful_without_auth(stateful: Background) -> None:
    assert stateful.problems("open") == []
