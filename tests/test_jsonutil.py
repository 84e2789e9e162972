"""routilux.jsonutil: one encoder; what orjson refuses takes one fallback that writes the same."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import hypothesis
import orjson
import pytest
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from routilux import jsonutil
from routilux.jsonutil import dumps, dumps_str, loads, size


class Color(enum.Enum):
    RED = "red"


class Point(BaseModel):
    x: int
    label: str = Field(alias="name")


@dataclasses.dataclass
class Record:
    a: int
    b: Any
    _hidden: int = 0  # orjson leaves it out, and so does the fallback


def nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too
    st.sampled_from(["\ud800", "a\udfffb"]),  # lone surrogates
    st.floats(),
    st.text(),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(
        [Color.RED, Decimal("1.5"), uuid.UUID(int=5), date(2026, 1, 2), frozenset({1})]
    ),
    st.builds(Point, x=st.integers(0, 9), name=st.text(max_size=3)),
)
KEYS = st.one_of(
    st.text(max_size=4),
    st.just("\ud801"),
    st.integers(-5, 5),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(Color.RED),
    st.datetimes(timezones=st.just(UTC)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=4),
        st.builds(Record, st.integers(0, 9), inner),
        st.tuples(inner, inner),
    ),
    max_leaves=30,
)


@hypothesis.settings(max_examples=400, derandomize=True, deadline=None, database=None)
@hypothesis.given(value=VALUES, sort_keys=st.booleans(), indent=st.booleans())
def test_the_fallback_writes_what_orjson_writes(value: Any, sort_keys: bool, indent: bool) -> None:
    """Walking a whole value writes what orjson writes (and what the fallback, which hands
    orjson what it accepts, writes), for every option."""
    fast = dumps(value, sort_keys=sort_keys, indent=indent)
    option = orjson.OPT_UTC_Z
    option |= orjson.OPT_SORT_KEYS if sort_keys else 0
    option |= orjson.OPT_INDENT_2 if indent else 0
    assert jsonutil._encode_any(value, option, members_to_orjson=False) == fast
    assert jsonutil._encode_any(value, option) == fast


def test_what_orjson_refuses_is_written() -> None:
    value = {
        "big": 2**70,
        "negative": -(2**80),
        "odd": "x\ud800y",
        "deep": nested(300),
        "nan": math.nan,
        "keys": {1: "a", None: "b", False: "c", Color.RED: "d", 1.5: "e"},
        "when": datetime(2026, 1, 2, tzinfo=UTC),
    }
    for variant in ("big", "odd", "deep", "keys"):  # each alone is refused by orjson
        with pytest.raises(TypeError):
            orjson.dumps({variant: value[variant]})
    assert loads(dumps(value)) == {
        "big": 2**70,
        "negative": -(2**80),
        "odd": "x\ufffdy",
        "deep": nested(300),
        "nan": None,
        "keys": {"1": "a", "null": "b", "false": "c", "red": "d", "1.5": "e"},
        "when": "2026-01-02T00:00:00Z",
    }


def test_a_huge_integer_is_exact_both_ways() -> None:
    text = dumps_str({"n": 2**200})
    assert text == '{"n":' + str(2**200) + "}"
    assert loads(text) == {"n": 2**200}  # orjson.loads would give a float
    assert loads(text.encode()) == {"n": 2**200}


def test_models_sets_and_other_objects() -> None:
    assert dumps(Point(x=1, name="p")) == b'{"x":1,"name":"p"}'
    assert loads(dumps({"s": {3}})) == {"s": [3]}
    assert dumps(Decimal("1.25")) == b'"1.25"'
    assert (
        dumps({"p": Point(x=2**70, name="q")})
        == b'{"p":{"x":' + str(2**70).encode() + b',"name":"q"}}'
    )


def test_indent_and_sorted_keys_match_the_fast_path_when_it_falls_back() -> None:
    value = {"b": [1, {}], "a": {"d": [], "c": 2**70}}
    assert dumps_str(value, indent=True, sort_keys=True) == json.dumps(
        value, indent=2, sort_keys=True
    )
    assert (
        dumps(value, sort_keys=True)
        == b'{"a":{"c":' + str(2**70).encode() + b',"d":[]},"b":[1,{}]}'
    )


def test_size_counts_utf8_bytes() -> None:
    assert size({"s": "é"}) == len('{"s":"é"}'.encode())
    assert size({"n": 2**70}) == len('{"n":' + str(2**70) + "}")
    assert size("\ud800") == len('"\ufffd"'.encode())


def test_loads_refuses_what_is_not_json() -> None:
    with pytest.raises(ValueError):
        loads("{nope")


def test_importing_it_leaves_pydantic_out() -> None:
    """The CLI imports it and starts faster without pydantic."""
    code = "import sys, routilux.jsonutil; print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
