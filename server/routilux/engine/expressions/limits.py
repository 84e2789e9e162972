"""The bounds of an expression and of its evaluations, and the errors of one refused."""

from __future__ import annotations

from typing import Final

from routilux.engine.errors import RoutiluxError

MAX_EXPRESSION_LENGTH: Final = 2000
"""Characters in a source."""
MAX_NESTING_DEPTH: Final = 32
"""Open parentheses, brackets and braces at any point of a source."""
MAX_COMPREHENSION_NESTING: Final = 3
"""Comprehension macros (``all``, ``exists``, ``exists_one``, ``map``, ``filter``) in each other."""
MAX_PAYLOAD_DEPTH: Final = 64
"""Nested lists and objects in a payload (the Rust conversion recurses: ~50,000 levels crash)."""
MAX_PAYLOAD_SIZE: Final = 1_000_000
"""Size of a payload: a value counts as one, a string one more per 16 characters, a list or
object four (converting costs ~2 µs per unit)."""
MAX_EVALUATION_COST: Final = 4_000_000
"""Estimated work of one evaluation (a unit is a few nanoseconds): the worst accepted cases
measured took ~40 ms. The library holds the GIL while it evaluates, so even in a thread a long
evaluation would stall the event loop: this bound is what keeps every evaluation short."""
MAX_PATTERN_SIZE: Final = 2000
"""Instructions of a compiled ``matches`` pattern (RE2's program size): ``\\w{150}`` is 454,
``\\pL+`` 1201, ``\\w{1000}`` 3004. Matching costs at most this much per character."""
MAX_CACHED_PATTERNS: Final = 128
"""Compiled ``matches`` patterns kept, least recently used first out (google-re2 keeps as many
of its own): with PATTERN_MEMORY, at most ~64 MiB."""
PATTERN_MEMORY: Final = 256 * 1024
"""Bytes each compiled pattern may use (RE2's ``max_mem``): its program and its DFA cache."""
MAX_PATTERNS: Final = 8
"""Distinct ``matches`` patterns in one expression. An evaluation looks each up in the cache
once, so one that others pushed out is compiled again at most this many times."""
INLINE_EVALUATION_COST: Final = 300_000
"""Estimated work up to which a routine's condition is evaluated on the event loop (~1 ms, a
payload of ~1,000 values at most); costlier evaluations run in the thread pool."""
BREAKPOINT_EVALUATION_COST: Final = 4_000_000
"""Budget of the breakpoint conditions checked, on the event loop, before one activation: all of
a routine's breakpoints together (see Budget)."""


class ExpressionError(RoutiluxError):
    """An expression that cannot be compiled or evaluated."""

    code = "invalid_expression"

    def __init__(self, message: str, *, expression: str) -> None:
        super().__init__(message)
        self.expression = expression


class ExpressionTooCostly(ExpressionError):
    """An evaluation refused before it starts: its estimated work exceeds its budget."""

    code = "expression_too_costly"


class Budget:
    """Work that several evaluations share, such as the breakpoints checked before one
    activation: each uses up its estimated cost, and is refused once too little is left.
    ``name`` is the bound's name, for the error message."""

    __slots__ = ("left", "name", "total")

    def __init__(self, total: int, name: str) -> None:
        self.left = self.total = total
        self.name = name
