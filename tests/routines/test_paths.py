from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from routilux.routines.paths import MISSING, DottedPath, get, lookup

PAYLOAD: dict[str, Any] = {
    "user": {"name": "Ada", "tags": ["a", "b"], "nickname": None},
    "items": [{"id": 1}, {"id": 2}],
    "3": "digit key",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("user.name", "Ada"),
        ("user", PAYLOAD["user"]),
        ("items.0.id", 1),
        ("items.1.id", 2),
        ("items.-1.id", 2),
        ("user.tags.1", "b"),
        ("3", "digit key"),
    ],
)
def test_lookup_finds_value(path: str, expected: Any) -> None:
    assert lookup(PAYLOAD, path) == expected


@pytest.mark.parametrize(
    "path",
    ["nope", "user.age", "items.2.id", "items.-3", "items.first", "user.name.0", "user.tags.x"],
)
def test_lookup_of_absent_path_is_missing(path: str) -> None:
    assert lookup(PAYLOAD, path) is MISSING


def test_null_value_is_not_missing() -> None:
    assert lookup(PAYLOAD, "user.nickname") is None


def test_get_gives_default_for_absent_path() -> None:
    assert get(PAYLOAD, "user.age") is None
    assert get(PAYLOAD, "user.age", 0) == 0
    assert get(PAYLOAD, "user.name", 0) == "Ada"


def test_strings_are_not_indexed() -> None:
    assert lookup({"s": "abc"}, "s.0") is MISSING


class _Model(BaseModel):
    path: DottedPath


@pytest.mark.parametrize("path", ["", ".a", "a.", "a..b", "x" * 257])
def test_malformed_path_is_rejected(path: str) -> None:
    with pytest.raises(ValidationError):
        _Model(path=path)
