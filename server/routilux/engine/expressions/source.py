"""A source's shape: its bounds checked and its cost measured before the parser sees it.

A lexer just precise enough to skip strings and comments finds the brackets, the comprehension
macros, the ``matches`` calls (whose literal patterns it collects, and which it renames to this
package's function) and the payload's fields that the source reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cel

from routilux.engine.expressions.limits import MAX_COMPREHENSION_NESTING, MAX_NESTING_DEPTH
from routilux.engine.expressions.patterns import MATCHES, MATCHES_FUNCTION

VARIABLE = "data"
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Type names are constants in CEL (`type(x) == int`), not variables.
CONSTANTS = frozenset(
    {"true", "false", "null", "in"}
    | {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
# The library's functions (cel 0.10), so that calling anything else fails at compile time.
FUNCTIONS = frozenset(
    {"size", "contains", "startsWith", "endsWith", "matches", "dyn", "type"}
    | {"int", "uint", "double", "string", "bytes", "timestamp", "duration"}
    | {"getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear"}
    | {"getHours", "getMinutes", "getSeconds", "getMilliseconds"}
)

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


@dataclass
class _Macro:
    name: str
    level: int
    start: int
    binder: str = ""
    # Touches the whole payload (or runs another macro) on each step, not just its own element.
    heavy: bool = False


@dataclass(frozen=True)
class Shape:
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


def shape_of(source: str) -> Shape:
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
            if previous[1] == "." or following[1] == "(" or text in CONSTANTS:
                continue  # a field, a function or a constant
            innermost = stack[-1] if stack else None
            if innermost and index == innermost.start + 1 and following[1] == ",":
                innermost.binder = text
                continue
            references += 1
            for macro in stack:
                if macro and text == VARIABLE and macro.binder != VARIABLE:
                    macro.heavy = True
            if text == VARIABLE and fields is not None:
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
                if kind_before == "ident" and name in MACROS:
                    enclosing = [m for m in stack if m]
                    if len(enclosing) >= MAX_COMPREHENSION_NESTING:
                        raise ValueError(
                            f"it nests more than {MAX_COMPREHENSION_NESTING} comprehension macros"
                        )
                    for outer in enclosing:
                        outer.heavy = True
                    macro = _Macro(name, len(enclosing) + 1, index)
                    macros.append(macro)
            call = text == "(" and previous == ("ident", MATCHES)
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
                            f"the pattern of {MATCHES}() must be a string literal, so that it"
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
            parts += [source[end : matched[index].start()], MATCHES_FUNCTION]
            end = matched[index].end()
        rewritten = "".join([*parts, source[end:]])
    return Shape(
        references=references,
        concatenations=concatenations,
        literal_size=commas + 1,
        exponents=tuple(_exponent(m) for m in macros),
        binders=binders,
        literals=tuple((text, _match_exponent(macro)) for text, macro in literals),
        rewritten=rewritten,
        fields=None if fields is None or VARIABLE in binders else frozenset(fields),
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
            if not library_failure(exc):
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


def pattern_text(literal: str) -> str:
    # The parser accepted the whole source, so the literal alone is a valid CEL literal.
    value = cel.evaluate(literal)
    if type(value) is not str:
        raise ValueError(f"the pattern of {MATCHES}() must be a string, not bytes")
    return value


def library_failure(exc: BaseException) -> bool:
    # A Rust panic reaches Python as pyo3's PanicException, which is not an Exception.
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def parse_detail(exc: BaseException, source: str) -> str:
    # The library repeats the whole source before the located error; keep only the error.
    text = str(exc)
    prefix = f"Failed to parse expression '{source}': "
    return text[len(prefix) :] if text.startswith(prefix) else text
