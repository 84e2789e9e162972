"""``matches``: RE2 patterns, checked and compiled once, in a bounded cache.

CEL's own ``matches`` compiles its pattern again on every call, holding the GIL; this one is
evaluated by a function of this package under another name (the source is rewritten).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import re2

from routilux.engine.expressions.limits import MAX_CACHED_PATTERNS, MAX_PATTERN_SIZE, PATTERN_MEMORY

MATCHES = "matches"
MATCHES_FUNCTION = "routilux_re2_matches"

_PATTERN_OPTIONS = re2.Options()
_PATTERN_OPTIONS.max_mem = PATTERN_MEMORY
_PATTERN_OPTIONS.log_errors = False  # RE2 would print refused patterns on stderr
_PATTERN_OPTIONS.never_capture = True  # only whether it matches counts


@lru_cache(maxsize=MAX_CACHED_PATTERNS)
def compiled_pattern(pattern: str) -> Any:
    """The compiled pattern (ValueError if it is invalid or too large); compiled once."""
    try:
        regex = re2.compile(pattern, _PATTERN_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise ValueError(f"invalid pattern {pattern!r} for {MATCHES}(): {detail}") from None
    if regex.programsize > MAX_PATTERN_SIZE:
        raise ValueError(
            f"the pattern {pattern!r} of {MATCHES}() compiles to {regex.programsize}"
            f" instructions, more than MAX_PATTERN_SIZE ({MAX_PATTERN_SIZE}); use a smaller"
            " repetition count or a narrower class"
        )
    return regex


def matches_function() -> dict[str, Callable[[object, object], bool]]:
    """CEL's `matches`, for one evaluation: whether the RE2 pattern matches anywhere in the
    text. Each pattern is taken from the cache once per evaluation, not once per call."""
    compiled: dict[str, Any] = {}

    def matches(text: object, pattern: object) -> bool:
        if type(text) is not str or type(pattern) is not str:
            raise TypeError(f"{MATCHES}() applies to a string, not {type(text).__name__}")
        regex = compiled.get(pattern)
        if regex is None:
            regex = compiled[pattern] = compiled_pattern(pattern)
        return regex.search(text) is not None

    return {MATCHES_FUNCTION: matches}
