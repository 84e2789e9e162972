from __future__ import annotations

import enum
from typing import Any

import pytest

from routilux.engine.errors import RoutiluxError
from routilux.engine.expressions import (
    MAX_COMPREHENSION_NESTING,
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_PAYLOAD_DEPTH,
    Condition,
    ExpressionError,
)

PERSON: dict[str, Any] = {
    "age": 30,
    "country": "FR",
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "score": 7.5,
    "nickname": None,
    "active": True,
    "tags": ["admin", "ops"],
    "items": [{"sku": "a", "price": 5}, {"sku": "b", "price": 20}, {"sku": "c", "price": 50}],
    "user": {"name": "ada", "address": {"city": "Paris"}},
    "joined": "2020-05-17T10:00:00Z",
}


def holds(source: str, data: Any = PERSON) -> bool:
    return Condition.compile(source).evaluate(data)


def rejected(source: str, data: Any = PERSON) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        Condition.compile(source).evaluate(data)
    return caught.value


# Semantics


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("data.age >= 18", True),
        ("data.age < 18", False),
        ("data.age == 30", True),
        ("data.age != 30", False),
        ("data.score > 7", True),
        ("data.age == 30.0", True),
        ('data.country == "FR"', True),
        ('data.name > "Ada"', True),
        ("data.nickname == null", True),
        ("data.active", True),
    ],
)
def test_comparisons(source: str, expected: bool) -> None:
    assert holds(source) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('data.age >= 18 && data.country == "FR"', True),
        ('data.age >= 18 && data.country == "DE"', False),
        ('data.age < 18 || data.country == "FR"', True),
        ("!data.active", False),
        ("!(data.age < 18) && (data.active || false)", True),
        ('data.age > 18 ? data.country == "FR" : false', True),
    ],
)
def test_boolean_logic(source: str, expected: bool) -> None:
    assert holds(source) is expected


def test_in_tests_keys_of_objects_and_members_of_lists() -> None:
    assert holds('"age" in data')
    assert not holds('"salary" in data')
    assert holds('"ops" in data.tags')
    assert not holds('"dev" in data.tags')


def test_has_tests_nested_fields() -> None:
    assert holds("has(data.user.name)")
    assert holds("has(data.user.address.city)")
    assert not holds("has(data.user.phone)")
    assert not holds("has(data.salary)")


def test_size_of_lists_strings_and_objects() -> None:
    assert holds("size(data.items) == 3")
    assert holds("size(data.name) == 12")
    assert holds("data.tags.size() == 2")
    assert holds("size(data.user) == 2")


@pytest.mark.parametrize(
    "source",
    [
        'data.name.startsWith("Ada")',
        'data.name.endsWith("lace")',
        'data.name.contains("Love")',
        r'data.email.matches("^[a-z]+@[a-z]+\\.org$")',
        'data.name + "!" == "Ada Lovelace!"',
    ],
)
def test_string_functions(source: str) -> None:
    assert holds(source)


def test_nested_fields_and_list_indexing() -> None:
    assert holds('data.user.address.city == "Paris"')
    assert holds('data["user"]["name"] == "ada"')
    assert holds("data.items[1].price == 20")
    assert holds('data.tags[0] == "admin"')


def test_comprehension_macros_over_lists() -> None:
    assert holds("data.items.all(i, i.price > 1)")
    assert holds("data.items.exists(i, i.price > 40)")
    assert holds("data.items.exists_one(i, i.price > 40)")
    assert holds("size(data.items.filter(i, i.price >= 20)) == 2")
    assert holds('data.items.map(i, i.sku) == ["a", "b", "c"]')
    assert holds("data.tags.all(data, data.size() > 2)")  # a macro's variable may shadow data


def test_timestamps_and_type_names_are_available() -> None:
    assert holds('timestamp(data.joined) > timestamp("2019-01-01T00:00:00Z")')
    assert holds("timestamp(data.joined).getFullYear() == 2020")
    assert holds("type(data.age) == int && type(data.name) == string")


def test_payload_may_be_any_json_value() -> None:
    assert Condition.compile("data > 2").evaluate(3)
    assert Condition.compile("size(data) == 2").evaluate(["a", "b"])
    assert Condition.compile("data == null").evaluate(None)


# Errors


def test_missing_field_is_an_error_naming_the_key() -> None:
    error = rejected("data.salary > 10")
    assert "salary" in error.message
    assert "has()" in error.message


def test_missing_field_guarded_by_has_is_false_not_an_error() -> None:
    assert not holds("has(data.salary) && data.salary > 10")


def test_non_bool_result_is_rejected_by_evaluate() -> None:
    error = rejected("data.age + 1")
    assert "bool" in error.message
    assert "int" in error.message


def test_syntax_error_mentions_the_problem() -> None:
    with pytest.raises(ExpressionError) as caught:
        Condition.compile("data.age >")
    assert "syntax" in caught.value.message.lower()
    assert caught.value.expression == "data.age >"


def test_too_long_expression_is_rejected() -> None:
    source = " || ".join(["data.active"] * 200)
    assert len(source) > MAX_EXPRESSION_LENGTH
    with pytest.raises(ExpressionError, match="characters long"):
        Condition.compile(source)


def test_too_deep_nesting_is_rejected_before_parsing() -> None:
    Condition.compile("(" * MAX_NESTING_DEPTH + "true" + ")" * MAX_NESTING_DEPTH)
    deep = MAX_NESTING_DEPTH + 1
    with pytest.raises(ExpressionError, match="nested"):
        Condition.compile("[" * deep + "1" + "]" * deep)


def test_brackets_in_strings_and_comments_do_not_count_as_nesting() -> None:
    brackets = "(" * (MAX_NESTING_DEPTH + 5)
    source = f"data.name != \"{brackets}\" // {brackets}\n && data.name != r'{brackets}'"
    assert holds(source)


def test_more_than_the_allowed_nested_comprehensions_is_rejected() -> None:
    nested = "true"
    for level in range(MAX_COMPREHENSION_NESTING):
        nested = f"data.tags.all(v{level}, {nested})"
    assert holds(nested)
    with pytest.raises(ExpressionError, match="comprehension"):
        Condition.compile(f"data.tags.exists(w, {nested})")


def test_unknown_variable_is_rejected_at_compile_time() -> None:
    with pytest.raises(ExpressionError, match="unknown variable 'payload'"):
        Condition.compile("payload.age > 3")


def test_unknown_function_is_rejected_at_compile_time() -> None:
    with pytest.raises(ExpressionError, match="unknown function 'lowerAscii'"):
        Condition.compile('data.name.lowerAscii() == "ada"')


def test_macro_variable_outside_its_macro_fails_at_evaluation() -> None:
    error = rejected("data.tags.all(t, true) && t")
    assert "'t'" in error.message


@pytest.mark.parametrize(
    "source",
    ["data.age / 0", "9223372036854775807 + data.age", "data.tags[5] == 1", '"" + 1 == "1"'],
)
def test_runtime_failures_are_expression_errors(source: str) -> None:
    assert rejected(source).message.startswith("evaluation failed")


def test_string_repetition_is_not_available() -> None:
    rejected('size("ab" * 1000000) > 0')


def test_error_is_a_routilux_error_with_message_and_expression() -> None:
    error = rejected("data.salary")
    assert isinstance(error, RoutiluxError)
    assert error.expression == "data.salary"
    assert str(error) == error.message


def test_non_string_source_is_rejected() -> None:
    with pytest.raises(ExpressionError):
        Condition.compile(42)  # type: ignore[arg-type]


# Escapes to Python


@pytest.mark.parametrize(
    "source",
    [
        "().__class__.__base__.__subclasses__()",
        "data.__class__",
        "data.__class__.__mro__",
        "data.__dict__",
        'data["__class__"]',
        "data.name.__class__.__base__",
        "data.__init__.__globals__",
        "data.tags.__len__()",
        "data.items.pop()",
        "data.keys()",
        "__import__('os')",
        '__import__("os").system("true")',
        "__builtins__",
        'getattr(data, "__class__")',
        'eval("1 + 1")',
        'exec("import os")',
        'open("/etc/passwd")',
        "globals()",
        "type(data).__subclasses__()",
        '"".__class__.__mro__[1].__subclasses__()',
        "[].__class__",
        "lambda: 1",
        "data()",
        "data.__reduce_ex__(2)",
        "[c for c in data]",
        "dyn(data).__class__",
        ".data.__class__",
        "optional.of(data)",
    ],
)
def test_attribute_escape_is_rejected(source: str) -> None:
    with pytest.raises(ExpressionError):
        Condition.compile(source).value(PERSON)


def test_python_internal_names_are_refused_at_compile_time() -> None:
    with pytest.raises(ExpressionError, match="'__class__' looks like a Python internal name"):
        Condition.compile("data.__class__")


def test_dunder_keys_are_only_payload_keys() -> None:
    payload = {"__class__": "plain", "__dict__": {"x": 1}}
    assert Condition.compile('data["__class__"]').value(payload) == "plain"
    assert Condition.compile('data["__dict__"].x').value(payload) == 1
    with pytest.raises(ExpressionError, match="no such key"):
        Condition.compile('data["__class__"]').value({})


@pytest.mark.parametrize(
    "payload",
    [
        lambda: 1,  # a callable as `data` would otherwise become a CEL function
        {"f": print},
        {"obj": object()},
        {"when": __import__("datetime").date(2020, 1, 1)},
        {"set": {1, 2}},
        {1: "non-string key"},
        {"big": 2**64},
        b"bytes",
    ],
)
def test_payload_that_is_not_json_is_rejected(payload: Any) -> None:
    with pytest.raises(ExpressionError, match="invalid payload"):
        Condition.compile("data != null").evaluate(payload)


def test_payload_nested_too_deep_is_rejected() -> None:
    payload: Any = 1
    for _ in range(MAX_PAYLOAD_DEPTH + 1):
        payload = [payload]
    with pytest.raises(ExpressionError, match="nested"):
        Condition.compile("size(data) == 1").evaluate(payload)


def test_payload_too_large_is_rejected() -> None:
    payload = [list(range(1000)) for _ in range(1100)]
    with pytest.raises(ExpressionError, match="more than"):
        Condition.compile("size(data) > 0").evaluate(payload)


def test_quadratic_macro_on_a_large_payload_is_refused_before_running() -> None:
    source = "size(data.items.filter(x, x > 0)) > 0"
    assert Condition.compile(source).evaluate({"items": list(range(300))})
    with pytest.raises(ExpressionError, match="too large for this expression"):
        Condition.compile(source).evaluate({"items": list(range(100_000))})


def test_linear_conditions_accept_large_payloads() -> None:
    payload = {"items": list(range(10_000)), "age": 30}
    assert holds("data.age > 18 && data.items.exists(x, x == 9999)", payload)


def test_expression_too_costly_for_any_payload_is_rejected_at_compile_time() -> None:
    source = "size(" + "+".join(["data.s"] * 280) + ") > 0"
    with pytest.raises(ExpressionError, match="too complex"):
        Condition.compile(source)


# Conversion of values


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_tuples_and_enum_members_become_plain_json() -> None:
    payload = {"pair": (1, 2), "colour": Colour.RED, "level": Level.HIGH}
    assert holds('data.pair == [1, 2] && data.colour == "red" && data.level == 3', payload)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{"name": data.user.name, "adult": data.age >= 18}', {"name": "ada", "adult": True}),
        ("data.items.map(i, i.price)", [5, 20, 50]),
        ("data.items.map(i, i.price * 2)[2]", 100),
        ("data.score * 2.0", 15.0),
        ("data.user.address", {"city": "Paris"}),
        ("data.nickname", None),
        ('data.country + "-" + data.user.name', "FR-ada"),
        ("string(timestamp(data.joined))", "2020-05-17T10:00:00+00:00"),
    ],
)
def test_value_returns_plain_json(source: str, expected: Any) -> None:
    result = Condition.compile(source).value(PERSON)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "source", ['b"raw"', "timestamp(data.joined)", 'duration("1h")', "{1: data.age}"]
)
def test_value_rejects_results_that_are_not_json(source: str) -> None:
    with pytest.raises(ExpressionError, match="cannot return the result"):
        Condition.compile(source).value(PERSON)


# Compilation


def test_compile_is_cached_per_source() -> None:
    first = Condition.compile("data.age > 1")
    assert Condition.compile("data.age > 1") is first
    assert first.source == "data.age > 1"
    assert first == Condition.compile("data.age > 1")
    assert repr(first) == "Condition('data.age > 1')"


def test_a_compiled_condition_is_reusable_across_payloads() -> None:
    adult = Condition.compile("data.age >= 18")
    assert [adult.evaluate({"age": age}) for age in (10, 18, 40)] == [False, True, True]
