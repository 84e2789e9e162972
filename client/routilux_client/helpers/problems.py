"""Problems (RFC 9457) as exceptions, for callers who prefer raising to checking results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar, overload

from routilux_client.errors import UnexpectedStatus
from routilux_client.models.invalid_value import InvalidValue
from routilux_client.models.problem import Problem
from routilux_client.types import Response, Unset

T = TypeVar("T")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    """The API answered with a problem document; ``problem`` is the parsed model."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.code}: {problem.detail}")
        self.problem = problem

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def code(self) -> str:
        """The stable snake_case code, e.g. ``flow_not_found``."""
        return self.problem.code

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def errors(self) -> list[InvalidValue]:
        """Each invalid value, with its location (422); empty otherwise."""
        errors = self.problem.errors
        return [] if errors is None or isinstance(errors, Unset) else errors


class EmptyResultError(Exception):
    """A call gave no parsed result where one was expected.

    Either the status was not declared in the schema (a client made by ``connect`` raises
    ``routilux_client.errors.UnexpectedStatus`` for those instead), or the operation answers
    without a body (use its ``*_detailed`` variant).
    """


def parse_problem(status: int, headers: Mapping[str, str], content: bytes) -> Problem | None:
    """The problem document of an error response, or None if it carries none."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if status < 400 or media_type not in (PROBLEM_MEDIA_TYPE, "application/json"):
        return None
    try:
        document = json.loads(content)
        return Problem.from_dict(document) if isinstance(document, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


@overload
def unwrap(result: Response[T | Problem]) -> T: ...


@overload
def unwrap(result: T | Problem | None) -> T: ...


def unwrap(result: Any) -> Any:
    """The value of a call, or an exception: ``ProblemError`` for a problem.

    Takes what an operation's ``sync``/``asyncio`` returns, or the ``Response`` of its
    ``sync_detailed``/``asyncio_detailed`` (which also serves operations that answer 204).
    """
    if isinstance(result, Response):
        if isinstance(result.parsed, Problem):
            raise ProblemError(result.parsed)
        if result.status_code >= 400:
            problem = parse_problem(result.status_code, result.headers, result.content)
            if problem is not None:
                raise ProblemError(problem)
            raise UnexpectedStatus(result.status_code, result.content)
        return result.parsed
    if isinstance(result, Problem):
        raise ProblemError(result)
    if result is None:
        raise EmptyResultError(
            "the call gave no result: an undeclared status (see raise_on_unexpected_status), "
            "or an operation without a response body (use its *_detailed variant)"
        )
    return result
