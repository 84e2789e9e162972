"""Condition fields of routine configs: CEL sources compiled once, when the flow is validated.

Compiling in the field validator makes a bad condition a located error at flow creation (for
example ``routines.keep.config.condition``) instead of a failure of the first job that reaches it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from routilux.engine.expressions import MAX_EXPRESSION_LENGTH, Condition, ExpressionError


def _check(source: str) -> str:
    try:
        Condition.compile(source)
    except ExpressionError as exc:
        raise ValueError(exc.message) from None
    return source


ConditionSource = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="A CEL expression over the payload, which is the variable `data`.",
        examples=["data.amount > 100", "has(data.user) && data.user.active"],
    ),
    AfterValidator(_check),
]
