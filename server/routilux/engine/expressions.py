"""Safe conditions over a JSON payload, written in CEL (Common Expression Language).

The payload is the only variable, ``data``: ``data.age >= 18 && data.country == "FR"``,
``size(data.items) > 2``, ``"x" in data``, ``has(data.user.name)``. Python ``eval`` is never used.

Library: ``common-expression-language`` (module ``cel``, the Rust ``cel`` crate via PyO3) rather
than the pure-Python ``cel-python`` (``celpy``). Both treat ``data.__class__`` as a map key, but
the Rust one evaluates the condition above ~30 times faster (~150,000/s against ~5,000/s),
reports syntax errors with a caret, lists the variables and functions an expression uses (so
unknown names fail at compile time) and ships accurate stubs. It would turn a callable payload
into a CEL function, so the payload is first copied into plain JSON values; with no Python
function registered but ``matches``, evaluation then only touches Rust values. This module:
~140,000/s (7.1 µs) on a quiet machine; evaluating only the fields read costs ~3% more on this
tiny payload and saves the conversion of the others::

    PYTHONPATH=server .venv/bin/python -m timeit \\
      -s 'from routilux.engine.expressions import Condition' \\
      -s 'c = Condition.compile("data.age >= 18 && data.country == \\"FR\\"")' \\
      -s 'd = {"age": 30, "country": "FR"}' 'c.evaluate(d)'

Bounds (the MAX_* constants). CEL has no loops besides the comprehension macros, but this
implementation's ``map`` and ``filter`` copy their accumulator at every step (``filter`` over
10,000 numbers takes ~3 s), and it holds the GIL for a whole evaluation, so that even in a thread
a long one stalls the event loop. An evaluation is therefore refused before it starts
(ExpressionTooCostly) when a deliberately coarse estimate of its work, from the shape of the
source and the size of the payload's fields it reads, exceeds ``MAX_EVALUATION_COST`` (~40 ms at
worst). Only those fields are converted. The source is scanned for its bounds before the parser
sees it.

``matches`` is this module's own function (the library's compiles its pattern on every call):
patterns must be string literals, are checked and compiled once with RE2 (linear time; the GIL
is released while matching) in a bounded cache, and count in the estimate as pattern size times
characters matched. ``Condition.inline`` tells whether an evaluation is cheap enough for the
event loop; routines run the others in the thread pool.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import cel
import re2

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

_VARIABLE = "data"
# `matches` is evaluated by a function of this module (cached, bounded RE2 patterns) rather than
# the library's, which compiles its pattern again on every call, holding the GIL.
_MATCHES = "matches"
_MATCHES_FUNCTION = "routilux_re2_matches"
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Type names are constants in CEL (`type(x) == int`), not variables.
_CONSTANTS = frozenset(
    {"true", "false", "null", "in"}
    | {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
# The library's functions (cel 0.10), so that calling anything else fails at compile time.
_FUNCTIONS = frozenset(
    {"size", "contains", "startsWith", "endsWith", "matches", "dyn", "type"}
    | {"int", "uint", "double", "string", "bytes", "timestamp", "duration"}
    | {"getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear"}
    | {"getHours", "getMinutes", "getSeconds", "getMilliseconds"}
)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_STRING_CHARS_PER_UNIT = 16
# Converting a value to the library's (in Python, then in Rust) takes 0.5-3 µs per unit of
# size; a string counts at least twice and a list or object four times (measured, as ints).
_VALUE_COST = 300
_CONTAINER_SIZE = 3
_CAP = min(MAX_PAYLOAD_SIZE, MAX_EVALUATION_COST // _VALUE_COST)

# A lexer just precise enough to skip strings and comments: counting brackets inside them would
# reject valid sources, and missing brackets would let deep nesting through to the parser.
_TOKEN = re.compile(
    r"""
      (?P<space>\s+|//[^\n]*)
    | (?P<string>
          (?:[bB]?[rR]|[rR][bB])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
        | [bB]?(?:'''(?:\\.|.)*?'''|\"\"\"(?:\\.|.)*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
      )
    | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d*\.?\d+(?:[eE][+-]?\d+)?[uU]?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


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


class _OverCap(Exception):
    pass


_PATTERN_OPTIONS = re2.Options()
_PATTERN_OPTIONS.max_mem = PATTERN_MEMORY
_PATTERN_OPTIONS.log_errors = False  # RE2 would print refused patterns on stderr
_PATTERN_OPTIONS.never_capture = True  # only whether it matches counts


@lru_cache(maxsize=MAX_CACHED_PATTERNS)
def _regex(pattern: str) -> Any:
    """The compiled pattern (ValueError if it is invalid or too large); compiled once."""
    try:
        regex = re2.compile(pattern, _PATTERN_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise ValueError(f"invalid pattern {pattern!r} for {_MATCHES}(): {detail}") from None
    if regex.programsize > MAX_PATTERN_SIZE:
        raise ValueError(
            f"the pattern {pattern!r} of {_MATCHES}() compiles to {regex.programsize}"
            f" instructions, more than MAX_PATTERN_SIZE ({MAX_PATTERN_SIZE}); use a smaller"
            " repetition count or a narrower class"
        )
    return regex


def _matches() -> dict[str, Callable[[object, object], bool]]:
    """CEL's `matches`, for one evaluation: whether the RE2 pattern matches anywhere in the
    text. Each pattern is taken from the cache once per evaluation, not once per call."""
    compiled: dict[str, Any] = {}

    def matches(text: object, pattern: object) -> bool:
        if type(text) is not str or type(pattern) is not str:
            raise TypeError(f"{_MATCHES}() applies to a string, not {type(text).__name__}")
        regex = compiled.get(pattern)
        if regex is None:
            regex = compiled[pattern] = _regex(pattern)
        return regex.search(text) is not None

    return {_MATCHES_FUNCTION: matches}


@dataclass
class _Macro:
    name: str
    level: int
    start: int
    binder: str = ""
    # Touches the whole payload (or runs another macro) on each step, not just its own element.
    heavy: bool = False


@dataclass(frozen=True)
class _Shape:
    """What a source can do, as far as evaluation cost goes."""

    references: int  # to `data` or to a macro's element
    concatenations: int  # `+` operators, which may join lists or strings
    literal_size: int  # bound on the length of a list or map written in the source
    exponents: tuple[int, ...]  # per macro, the power of the iterated length in its cost
    binders: frozenset[str]
    # Per `matches` call: its pattern's literal (as written), and the power of the iterated
    # length in its cost; once compiled, the pattern's program size and that power.
    literals: tuple[tuple[str, int], ...] = ()
    patterns: tuple[tuple[int, int], ...] = ()
    # The source with `matches` calls renamed to this module's function (None: no call).
    rewritten: str | None = None
    # The payload's top-level fields that the source reads (None: the payload as a whole), so
    # that only those are converted, and count.
    fields: frozenset[str] | None = None


def _shape(source: str) -> _Shape:
    """Check the source's bounds and measure it, without parsing it (ValueError if refused)."""
    matched = [match for match in _TOKEN.finditer(source) if match.lastgroup != "space"]
    tokens = [(match.lastgroup or "", match.group()) for match in matched]
    stack: list[_Macro | None] = []
    # Per open bracket: the index of its last separator (itself or a comma) and whether it opens
    # the arguments of a `matches` call.
    frames: list[tuple[int, bool]] = []
    calls: list[int] = []  # the indexes of `matches` tokens that are called
    literals: list[tuple[str, _Macro | None]] = []
    macros: list[_Macro] = []
    references = concatenations = commas = 0
    fields: set[str] | None = set()  # the payload's fields the source reads; None: it all
    for index, (kind, text) in enumerate(tokens):
        previous = tokens[index - 1] if index else ("", "")
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if kind == "ident":
            if text.startswith("__"):
                # Not reachable anyway, but refusing early makes such attempts fail at creation.
                raise ValueError(
                    f"{text!r} looks like a Python internal name; a payload key with that name"
                    f' can be read as data["{text}"]'
                )
            if previous[1] == "." or following[1] == "(" or text in _CONSTANTS:
                continue  # a field, a function or a constant
            innermost = stack[-1] if stack else None
            if innermost and index == innermost.start + 1 and following[1] == ",":
                innermost.binder = text
                continue
            references += 1
            for macro in stack:
                if macro and text == _VARIABLE and macro.binder != _VARIABLE:
                    macro.heavy = True
            if text == _VARIABLE and fields is not None:
                field = _field(tokens[index + 1 : index + 5])
                if field is None:
                    fields = None
                else:
                    fields.add(field)
        elif kind != "punct":
            continue
        elif text in "([{":
            if len(stack) >= MAX_NESTING_DEPTH:
                raise ValueError(f"it is nested more than {MAX_NESTING_DEPTH} levels deep")
            macro = None
            if text == "(" and index >= 2 and tokens[index - 2][1] == ".":
                kind_before, name = tokens[index - 1]
                if kind_before == "ident" and name in _MACROS:
                    enclosing = [m for m in stack if m]
                    if len(enclosing) >= MAX_COMPREHENSION_NESTING:
                        raise ValueError(
                            f"it nests more than {MAX_COMPREHENSION_NESTING} comprehension macros"
                        )
                    for outer in enclosing:
                        outer.heavy = True
                    macro = _Macro(name, len(enclosing) + 1, index)
                    macros.append(macro)
            call = text == "(" and previous == ("ident", _MATCHES)
            if call:
                calls.append(index - 1)
            stack.append(macro)
            frames.append((index, call))
        elif text in ")]}":
            if stack:
                stack.pop()
                separator, call = frames.pop()
                if call:
                    # Only a literal pattern is compiled once and known before any payload.
                    argument = tokens[separator + 1 : index]
                    if len(argument) != 1 or argument[0][0] != "string":
                        raise ValueError(
                            f"the pattern of {_MATCHES}() must be a string literal, so that it"
                            " is checked and compiled once, when the expression is"
                        )
                    literals.append((argument[0][1], next((m for m in reversed(stack) if m), None)))
        elif text == "+":
            concatenations += 1
        elif text == ",":
            commas += 1
            if frames:
                frames[-1] = (index, frames[-1][1])
    binders = frozenset(m.binder for m in macros if m.binder)
    rewritten = None
    if calls:
        parts, end = [], 0
        for index in calls:
            parts += [source[end : matched[index].start()], _MATCHES_FUNCTION]
            end = matched[index].end()
        rewritten = "".join([*parts, source[end:]])
    return _Shape(
        references=references,
        concatenations=concatenations,
        literal_size=commas + 1,
        exponents=tuple(_exponent(m) for m in macros),
        binders=binders,
        literals=tuple((text, _match_exponent(macro)) for text, macro in literals),
        rewritten=rewritten,
        fields=None if fields is None or _VARIABLE in binders else frozenset(fields),
    )


def _field(following: list[tuple[str, str]]) -> str | None:
    """The field that ``data`` followed by these tokens reads, if it reads one: ``data.f`` or
    ``data["f"]``, but not a method such as ``data.exists(...)``."""
    texts = [text for _, text in following] + ["", "", "", ""]
    kinds = [kind for kind, _ in following] + ["", "", "", ""]
    if texts[0] == "." and kinds[1] == "ident" and texts[2] != "(":
        return texts[1]
    if texts[0] == "[" and kinds[1] == "string" and texts[2] == "]":
        try:
            value = cel.evaluate(texts[1])
        except BaseException as exc:
            if not _library_failure(exc):
                raise
            return None  # the parser reports it
        return value if type(value) is str else None
    return None


def _match_exponent(macro: _Macro | None) -> int:
    # Work of a `matches` call = pattern size * payload characters * (iterated length) ** this.
    # In a light macro, the strings matched at the steps are different parts of the payload.
    return 0 if macro is None else macro.level - 1 + int(macro.heavy)


def _exponent(macro: _Macro) -> int:
    # Work of a macro = (iterated length) ** exponent * (payload size). A light `all` walks its
    # elements once per enclosing step; a heavy body may read the whole payload at every step;
    # map and filter also copy their accumulator at every step, and a heavy map's elements may
    # themselves be as large as the payload.
    if macro.name == "filter":
        return macro.level
    if macro.name == "map":
        return macro.level + int(macro.heavy)
    return macro.level - 1 + int(macro.heavy)


@dataclass
class _Meter:
    cap: int = MAX_PAYLOAD_SIZE  # _to_cel stops beyond this size
    size: int = 0  # values, with long strings counting as several
    widest: int = 0  # longest list or object
    chars: int = 0  # characters of the strings


def _to_cel(value: Any, depth: int, meter: _Meter) -> Any:
    """A plain JSON copy of ``value``: nothing else (callables, objects) may reach CEL."""
    meter.size += 1
    kind = type(value)
    if kind is str:
        meter.chars += len(value)
        meter.size += 1 + len(value) // _STRING_CHARS_PER_UNIT
        return value
    if value is None or kind is bool or kind is float:
        return value
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"the integer {value} does not fit in 64 bits")
        return value
    if depth >= MAX_PAYLOAD_DEPTH:
        raise ValueError(f"the payload is nested more than {MAX_PAYLOAD_DEPTH} levels deep")
    meter.size += _CONTAINER_SIZE
    if meter.size > meter.cap:  # stop copying early; _run checks the final size
        raise _OverCap
    if isinstance(value, dict):
        meter.widest = max(meter.widest, len(value))
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"object keys must be strings, not {type(key).__name__}")
            meter.size += 1 + len(key) // _STRING_CHARS_PER_UNIT
            plain[str.__str__(key)] = _to_cel(item, depth + 1, meter)
        return plain
    if isinstance(value, list | tuple):
        meter.widest = max(meter.widest, len(value))
        return [_to_cel(item, depth + 1, meter) for item in value]
    # Subclasses, such as enum members, become their plain value (what json.dumps writes).
    if isinstance(value, str):
        return _to_cel(str.__str__(value), depth, meter)
    if isinstance(value, int):
        return _to_cel(int.__int__(value), depth, meter)
    if isinstance(value, float):
        return _to_cel(float.__float__(value), depth, meter)
    raise ValueError(f"a {kind.__name__} is not a JSON value")


def inline(conditions: Iterable[Condition], data: Any) -> bool:
    """Whether evaluating every condition on ``data`` is surely cheap enough for the loop."""
    conditions = list(conditions)
    fields: set[str] | None = set()
    for condition in conditions:
        if fields is not None:
            read = condition._shape.fields
            fields = None if read is None else fields | read
    return _within(data, fields, min(condition._inline_size for condition in conditions))


def _within(data: Any, fields: frozenset[str] | set[str] | None, limit: int) -> bool:
    """Whether the fields read of ``data`` (None: all of it) have at most ``limit`` size."""
    try:
        if fields is None or type(data) is not dict:
            return _left(data, 0, limit) >= 0
        left = limit - 1 - _CONTAINER_SIZE
        for field in fields:
            if field in data:
                left = _left(data[field], 1, left - 1 - len(field) // _STRING_CHARS_PER_UNIT)
        return left >= 0
    except RecursionError:
        return False


def _left(value: Any, depth: int, left: int) -> int:
    """``left`` less the size of ``value`` as _to_cel meters it; negative once it is over."""
    left -= 1
    kind = type(value)
    if kind is str:
        return left - 1 - len(value) // _STRING_CHARS_PER_UNIT
    if left < 0 or depth >= MAX_PAYLOAD_DEPTH:
        return left  # too deep: _to_cel refuses it at once, which is cheap
    if kind is dict:
        left -= _CONTAINER_SIZE
        for key, item in value.items():
            if type(key) is str:
                left -= len(key) // _STRING_CHARS_PER_UNIT
            left = _left(item, depth + 1, left - 1)
            if left < 0:
                return left
    elif kind is list or kind is tuple:
        left -= _CONTAINER_SIZE
        for item in value:
            left = _left(item, depth + 1, left)
            if left < 0:
                return left
    return left


def _fields_to_cel(data: dict[str, Any], fields: frozenset[str], meter: _Meter) -> Any:
    """_to_cel of the fields a source reads, present or absent as they are in ``data``: the
    result is the same as with the whole payload."""
    meter.size += 1 + _CONTAINER_SIZE
    plain = {}
    for field in fields:
        if field in data:
            meter.size += 1 + len(field) // _STRING_CHARS_PER_UNIT
            plain[field] = _to_cel(data[field], 1, meter)
    meter.widest = max(meter.widest, len(plain))
    return plain


def _measure(value: Any, depth: int, meter: _Meter) -> bool:
    """Meter ``value`` as _to_cel would, without copying; False once it exceeds the inline
    cost (values that _to_cel refuses count as cheap: it fails at once)."""
    meter.size += 1
    kind = type(value)
    if kind is str:
        meter.chars += len(value)
        meter.size += 1 + len(value) // _STRING_CHARS_PER_UNIT
    elif kind is dict:
        if depth >= MAX_PAYLOAD_DEPTH:
            return True
        meter.size += _CONTAINER_SIZE
        meter.widest = max(meter.widest, len(value))
        for key, item in value.items():
            meter.size += 1 + len(key) // _STRING_CHARS_PER_UNIT if type(key) is str else 1
            if not _measure(item, depth + 1, meter):
                return False
    elif kind is list or kind is tuple:
        if depth >= MAX_PAYLOAD_DEPTH:
            return True
        meter.size += _CONTAINER_SIZE
        meter.widest = max(meter.widest, len(value))
        for item in value:
            if not _measure(item, depth + 1, meter):
                return False
    return meter.size * _VALUE_COST <= INLINE_EVALUATION_COST


def _to_json(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("a map with non-string keys is not a JSON object")
        return {key: _to_json(item) for key, item in value.items()}
    raise ValueError(f"a {type(value).__name__} is not a JSON value; convert it with string()")


class Condition:
    """A compiled CEL expression over the payload ``data``; immutable and cheap to reuse."""

    __slots__ = ("_inline_size", "_program", "_shape", "source")

    source: str
    _program: cel.Program
    _shape: _Shape
    _inline_size: int  # payloads up to this size are surely cheap enough for the loop

    def __init__(self, source: str, program: cel.Program, shape: _Shape) -> None:
        self.source = source
        self._program = program
        self._shape = shape
        # The cost grows with the size, the widest list and the characters, each at most the
        # size times a constant: the largest size whose worst case is cheap enough.
        low, high = -1, INLINE_EVALUATION_COST // _VALUE_COST
        while low < high:
            middle = (low + high + 1) // 2
            worst = _Meter(size=middle, widest=middle, chars=middle * _STRING_CHARS_PER_UNIT)
            low, high = (
                (middle, high)
                if self._cost(worst) <= INLINE_EVALUATION_COST
                else (
                    low,
                    middle - 1,
                )
            )
        self._inline_size = low

    @classmethod
    def compile(cls, source: str) -> Condition:
        """Compile ``source`` (cached per source); ExpressionError if it is not valid."""
        if not isinstance(source, str):
            raise ExpressionError("an expression must be a string", expression=repr(source))
        return _compile(source)

    def evaluate(
        self, data: Any, *, limit: int = MAX_EVALUATION_COST, budget: Budget | None = None
    ) -> bool:
        """Evaluate as a condition: the result must be a bool. ExpressionTooCostly, before
        anything runs, when the estimated work on ``data`` exceeds ``limit`` or what is left of
        ``budget`` (which the estimate then uses up)."""
        result = self._run(data, limit, budget)
        if type(result) is not bool:
            raise ExpressionError(
                f"a condition must evaluate to a bool, not {type(result).__name__}",
                expression=self.source,
            )
        return result

    def value(self, data: Any) -> Any:
        """Evaluate and return the result as plain JSON values (dict, list, str, numbers...)."""
        try:
            return _to_json(self._run(data, MAX_EVALUATION_COST, None))
        except ValueError as exc:
            raise ExpressionError(
                f"cannot return the result: {exc}", expression=self.source
            ) from None

    def inline(self, data: Any) -> bool:
        """Whether evaluating on ``data`` is surely cheap enough for the event loop (estimated
        work at most INLINE_EVALUATION_COST). Measures without copying, and stops early."""
        return _within(data, self._shape.fields, self._inline_size)

    def _run(self, data: Any, limit: int, budget: Budget | None) -> Any:
        shared = budget is not None and budget.left <= limit  # the budget is the bound
        if budget is not None:
            limit = min(limit, budget.left)
        # Every value costs _VALUE_COST: beyond this many the cost is surely above the limit.
        cap = _CAP if limit == MAX_EVALUATION_COST else min(MAX_PAYLOAD_SIZE, limit // _VALUE_COST)
        meter = _Meter(cap=cap)
        fields = self._shape.fields
        try:
            if fields is not None and type(data) is dict:
                payload = _fields_to_cel(data, fields, meter)
            else:
                payload = _to_cel(data, 0, meter)
            if meter.size > cap:
                raise _OverCap
        except (ValueError, RecursionError) as exc:
            raise ExpressionError(f"invalid payload: {exc}", expression=self.source) from None
        except _OverCap:
            if budget is not None:
                budget.left -= min(budget.left, meter.size * _VALUE_COST)
            detail = f"a payload of size more than {cap}"
            raise self._too_costly(detail, limit, budget if shared else None) from None
        cost = self._cost(meter)
        if budget is not None:
            budget.left -= min(budget.left, cost)
        if cost > limit:
            raise self._too_costly(f"estimated cost {cost}", limit, budget if shared else None)
        if self._shape.patterns:
            context = cel.Context(variables={_VARIABLE: payload}, functions=_matches())
        else:
            context = cel.Context(variables={_VARIABLE: payload})
        try:
            return self._program.execute(context)
        except BaseException as exc:
            if not _library_failure(exc):
                raise
            if isinstance(exc, KeyError):
                message = f"no such key: {exc}; use has() to test for optional fields"
            else:
                message = f"evaluation failed: {exc}".replace(_MATCHES_FUNCTION, _MATCHES)
            raise ExpressionError(message, expression=self.source) from None

    def _too_costly(self, detail: str, limit: int, budget: Budget | None) -> ExpressionTooCostly:
        if budget is not None:
            bound = f"{limit} left of {budget.name} ({budget.total}) for this activation"
        elif limit == MAX_EVALUATION_COST:
            bound = f"MAX_EVALUATION_COST of {limit}"
        else:
            bound = f"limit of {limit}"
        return ExpressionTooCostly(
            f"refused: the payload is too large for this expression ({detail}, above the"
            f" {bound}); simplify the expression or reduce the payload",
            expression=self.source,
        )

    def _cost(self, meter: _Meter) -> int:
        # Sizes in values; literals in the source count as payload.
        shape = self._shape
        size = meter.size + len(self.source)
        growth = 1 + shape.references + shape.concatenations
        largest = growth * size  # no value can be larger than all its parts together
        longest = (1 + shape.concatenations) * max(meter.widest, shape.literal_size)
        # Each reference may be compared or copied whole; chained `+` copy ever longer prefixes.
        cost = (growth + shape.concatenations**2) * size + _VALUE_COST * meter.size
        cost += growth * largest * sum(int(longest**power) for power in shape.exponents)
        if shape.patterns:
            # RE2 matches in linear time: at most its program size per character (NFA).
            chars = (1 + shape.concatenations) * (meter.chars + len(self.source))
            cost += sum(size * chars * int(longest**power) for size, power in shape.patterns)
        return cost

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)


@lru_cache(maxsize=1024)
def _compile(source: str) -> Condition:
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"the expression is {len(source)} characters long; at most {MAX_EXPRESSION_LENGTH}"
            " are allowed",
            expression=source,
        )
    try:
        shape = _shape(source)
    except ValueError as exc:
        raise ExpressionError(f"refused: {exc}", expression=source) from None
    try:
        program = cel.compile(source)
    except BaseException as exc:
        if not _library_failure(exc):
            raise
        detail = _parse_detail(exc, source)
        raise ExpressionError(f"invalid syntax: {detail}", expression=source) from None
    if unknown := sorted(set(program.variables()) - {_VARIABLE} - _CONSTANTS - shape.binders):
        names = ", ".join(repr(name) for name in unknown)
        raise ExpressionError(
            f"unknown variable {names}: the payload is the only variable, named {_VARIABLE!r}",
            expression=source,
        )
    # Operators are listed too, under names such as `_+_` or `@in`, which are not identifiers.
    calls = {name for name in program.functions() if name.isidentifier()}
    if unknown := sorted(calls - _FUNCTIONS):
        names = ", ".join(repr(name) for name in unknown)
        raise ExpressionError(f"unknown function {names}", expression=source)
    if (rewritten := shape.rewritten) is not None:
        if len({text for text, _ in shape.literals}) > MAX_PATTERNS:
            raise ExpressionError(
                f"refused: it has more than MAX_PATTERNS ({MAX_PATTERNS}) distinct patterns",
                expression=source,
            )
        try:
            patterns = tuple(
                (_regex(_pattern(text)).programsize, power) for text, power in shape.literals
            )
        except ValueError as exc:
            raise ExpressionError(f"refused: {exc}", expression=source) from None
        shape = dataclasses.replace(shape, patterns=patterns)
        program = cel.compile(rewritten)
    condition = Condition(source, program, shape)
    if condition._cost(_Meter()) > MAX_EVALUATION_COST:
        raise ExpressionError(
            "refused: the expression is too complex, even for an empty payload",
            expression=source,
        )
    return condition


def _pattern(literal: str) -> str:
    # The parser accepted the whole source, so the literal alone is a valid CEL literal.
    value = cel.evaluate(literal)
    if type(value) is not str:
        raise ValueError(f"the pattern of {_MATCHES}() must be a string, not bytes")
    return value


def _library_failure(exc: BaseException) -> bool:
    # A Rust panic reaches Python as pyo3's PanicException, which is not an Exception.
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _parse_detail(exc: BaseException, source: str) -> str:
    # The library repeats the whole source before the located error; keep only the error.
    text = str(exc)
    prefix = f"Failed to parse expression '{source}': "
    return text[len(prefix) :] if text.startswith(prefix) else text
