"""The cost bounds of CEL conditions: `matches` patterns, the pattern cache, payload projection,
the inline threshold, shared budgets, and the costliest accepted evaluations against a real loop.
"""

from __future__ import annotations

import random
from typing import Any

import anyio.to_thread
import pytest

from routilux.engine.expressions import (
    BREAKPOINT_EVALUATION_COST,
    MAX_CACHED_PATTERNS,
    MAX_EVALUATION_COST,
    MAX_PATTERN_SIZE,
    MAX_PATTERNS,
    Budget,
    Condition,
    ExpressionError,
    ExpressionTooCostly,
    inline,
)
from routilux.engine.expressions.patterns import compiled_pattern
from tests.looplag import loop_lag

# `matches`: RE2 semantics, patterns compiled once


@pytest.mark.parametrize(
    ("source", "payload", "expected"),
    [
        ("data.s.matches('^a+$')", {"s": "aaa"}, True),
        ("data.s.matches('b')", {"s": "abc"}, True),  # anywhere in the string, as in CEL
        ("data.s.matches('^b')", {"s": "abc"}, False),
        ("matches(data.s, r'\\d{3}')", {"s": "x123"}, True),  # the global form
        ('data.s.matches("(?i)ABC")', {"s": "xabc"}, True),
        ("data.s.matches('\\\\pL+')", {"s": "été"}, True),
        ("data.l.exists(x, x.matches('^w{3}$'))", {"l": ["a", "www"]}, True),
        ("data.l.all(x, x.matches('^[a-z]+$'))", {"l": ["ab", "c1"]}, False),
        ("data.matches == 1", {"matches": 1}, True),  # a field named matches is just a field
    ],
)
def test_matches_keeps_cel_semantics(source: str, payload: Any, expected: bool) -> None:
    assert Condition.compile(source).evaluate(payload) is expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("data.s.matches(data.pattern)", "must be a string literal"),
        ("data.s.matches('a' + data.p)", "must be a string literal"),
        ("data.l.exists(x, data.s.matches(x))", "must be a string literal"),
        ("matches(data.s, data.p)", "must be a string literal"),
        ("data.s.matches(b'a')", "must be a string, not bytes"),
        ("data.s.matches('\\\\w{1000}')", f"more than MAX_PATTERN_SIZE ({MAX_PATTERN_SIZE})"),
        ("data.s.matches('(\\\\pL|\\\\d){100}x')", "invalid pattern"),  # too large for RE2
        ("data.s.matches('(')", "invalid pattern '(' for matches(): missing )"),
        ("data.s.matches('(?=a)')", "invalid pattern"),  # no lookaround in RE2
        ("routilux_re2_matches(data.s, 'a')", "unknown function"),
    ],
)
def test_unbounded_or_non_literal_patterns_are_refused_at_compile_time(
    source: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        Condition.compile(source)
    assert message in caught.value.message


def test_nested_quantifiers_are_harmless_in_re2() -> None:
    # Linear-time matching: the classic catastrophic backtracking pattern is instant.
    condition = Condition.compile("data.s.matches('^(a+)+$')")
    assert condition.evaluate({"s": "a" * 5000 + "b"}) is False


def test_matches_on_a_non_string_fails_naming_matches() -> None:
    with pytest.raises(ExpressionError, match=r"evaluation failed: .*matches\(\) applies to"):
        Condition.compile("data.n.matches('1')").evaluate({"n": 1})


def test_pattern_cache_is_bounded_and_compiles_once() -> None:
    compiled_pattern.cache_clear()
    for index in range(MAX_CACHED_PATTERNS + 50):
        Condition.compile(f"data.s.matches('^p{index}$')").evaluate({"s": "x"})
    info = compiled_pattern.cache_info()
    assert info.currsize == MAX_CACHED_PATTERNS
    assert info.maxsize == MAX_CACHED_PATTERNS
    condition = Condition.compile("data.l.all(x, x.matches('^q$'))")
    before = compiled_pattern.cache_info().misses
    assert condition.evaluate({"l": ["q"] * 100})
    assert compiled_pattern.cache_info().misses - before <= 1  # once, not once per element


def test_an_evaluation_compiles_each_pattern_at_most_once() -> None:
    patterns = [f"^x{index}$" for index in range(MAX_PATTERNS)]
    source = "data.l.exists(s, " + " || ".join(f"s.matches('{p}')" for p in patterns) + ")"
    condition = Condition.compile(source)
    compiled_pattern.cache_clear()  # as if other conditions had pushed them all out
    assert condition.evaluate({"l": ["y"] * 1000}) is False
    assert compiled_pattern.cache_info().misses == MAX_PATTERNS  # not once per element


def test_too_many_patterns_are_refused() -> None:
    source = " || ".join(f"data.s.matches('^{index}$')" for index in range(MAX_PATTERNS + 1))
    with pytest.raises(ExpressionError, match=r"more than MAX_PATTERNS \(8\)"):
        Condition.compile(source)


# Costs


def test_matches_is_costed_per_character_and_pattern_size() -> None:
    source = "data.l.exists(x, x.matches('^[ab]*a[ab]{60}c$'))"
    condition = Condition.compile(source)
    assert condition.evaluate({"l": ["ab"] * 100}) is False
    with pytest.raises(ExpressionTooCostly, match="MAX_EVALUATION_COST"):
        condition.evaluate({"l": ["ab" * 1000] * 100})


def test_only_the_fields_a_condition_reads_count() -> None:
    big = {"value": 1, "blob": [{"x": i} for i in range(100_000)]}
    assert Condition.compile("data.value == 1").evaluate(big)
    assert Condition.compile('has(data.value) && data["value"] > 0').evaluate(big)
    assert not Condition.compile("has(data.missing)").evaluate(big)
    with pytest.raises(ExpressionTooCostly):
        Condition.compile("size(data) > 0").evaluate(big)  # reads the payload as a whole
    with pytest.raises(ExpressionTooCostly):
        Condition.compile("size(data.blob) > 0").evaluate(big)


def test_field_projection_keeps_results() -> None:
    payload = {"a": {"b": [1, 2]}, "c": "x", "d": None}
    for source, expected in [
        ("data.a.b[1] == 2", True),
        ('"c" in data', True),
        ("data.exists(k, k == 'd')", True),
        ("data.a.b.exists(d, d == 2)", True),
        ("data.size() == 3", True),
    ]:
        assert Condition.compile(source).evaluate(payload) is expected, source
    with pytest.raises(ExpressionError, match="no such key"):
        Condition.compile("data.e == 1").evaluate(payload)


def test_budget_is_shared_by_the_evaluations_it_is_given_to() -> None:
    condition = Condition.compile("data.l.all(x, x >= 0)")
    payload = {"l": list(range(2000))}
    budget = Budget(BREAKPOINT_EVALUATION_COST, "BREAKPOINT_EVALUATION_COST")
    passed = 0
    with pytest.raises(
        ExpressionTooCostly,
        match=r"left of BREAKPOINT_EVALUATION_COST \(4000000\) for this activation",
    ):
        for _ in range(1000):
            assert condition.evaluate(payload, budget=budget)
            passed += 1
    assert 0 < passed < 1000
    assert budget.left < BREAKPOINT_EVALUATION_COST // 100


def test_cheap_conditions_run_inline_costly_ones_do_not() -> None:
    cheap = Condition.compile("data.age >= 18")
    assert cheap.inline({"age": 30, "name": "ada"})
    assert cheap.inline({"age": 30, "blob": list(range(100_000))})  # not read
    assert not Condition.compile("size(data.blob) > 0").inline({"blob": list(range(10_000))})
    hostile = Condition.compile("data.l.exists(x, x.matches('\\\\w{150}'))")
    assert not hostile.inline({"l": [f"item{i}" for i in range(1000)]})
    assert inline([cheap, Condition.compile("data.age < 10")], {"age": 3})
    assert not inline([cheap, hostile], {"age": 3, "l": ["x" * 100] * 1000})


def _noise(length: int) -> str:
    # Random text keeps RE2's DFA from settling into a few states: the slowest matching.
    chance = random.Random(length)
    return "".join(chance.choice("ab") for _ in range(length))


# The costliest accepted evaluations, each close to MAX_EVALUATION_COST in its own way. The
# library holds the GIL while it evaluates, so a thread alone would not spare the loop: the
# bound does. (google-re2 releases the GIL while it matches.)
COSTLIEST: list[tuple[str, dict[str, Any]]] = [
    ("size(data.l.filter(x, x > 0)) > 0", {"l": list(range(600))}),
    ("data.l.all(x, x != null)", {"l": [{} for _ in range(3000)]}),
    ("data.l.all(x, x != null)", {"l": [[] for _ in range(3000)]}),
    ("data.l.all(x, x != null)", {"l": ["abcdefghijklmno"] * 6000}),
    ("data.l.all(x, x != null)", {"l": [0.5] * 12_000}),
    ("data.l.map(x, data.l).size() > 0", {"l": list(range(60))}),
    (
        "data.l.all(x, data.l.exists(y, y == x + 1) || x == size(data.l) - 1)",
        {"l": list(range(90))},
    ),
    ("data.l.exists(x, x.matches('[ab]*a[ab]{60}c'))", {"l": [_noise(44_000)]}),
    ("data.s.matches('[ab]*a[ab]{400}c')", {"s": _noise(9000)}),
]


@pytest.mark.parametrize(("source", "payload"), COSTLIEST)
async def test_the_costliest_accepted_evaluations_do_not_stall_the_loop(
    source: str, payload: dict[str, Any]
) -> None:
    condition = Condition.compile(source)
    assert not condition.inline(payload)  # so a routine sends it to the thread pool
    stalls = []
    for _ in range(3):  # a stall due to the evaluation recurs; one due to a busy machine may not
        async with loop_lag() as lag:
            assert await anyio.to_thread.run_sync(condition.evaluate, payload) in (True, False)
        stalls.append(lag.worst)
    assert min(stalls) < 0.1, f"the loop stalled {min(stalls):.3f} s at least"


def test_the_costliest_cases_are_close_to_the_bound() -> None:
    # Twice the payload is refused: the cases above really are the worst accepted.
    for source, payload in COSTLIEST:
        doubled = {key: value * 2 for key, value in payload.items()}
        with pytest.raises(ExpressionTooCostly, match=str(MAX_EVALUATION_COST)):
            Condition.compile(source).evaluate(doubled)
