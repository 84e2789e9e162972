from __future__ import annotations

import json
from typing import Any

import pytest

from routilux.engine import Routine, RoutineRegistry
from routilux.routines import BUILTIN_TYPES

EXPECTED = {
    "Aggregator",
    "Batcher",
    "ConditionalRouter",
    "Debouncer",
    "Delay",
    "Fail",
    "Filter",
    "Identity",
    "Mapper",
    "SchemaValidator",
    "Splitter",
}


def test_every_builtin_is_registered_with_its_aliases() -> None:
    registry = RoutineRegistry(BUILTIN_TYPES)
    assert set(registry.names()) == EXPECTED
    assert registry.canonical_name("DataTransformer") == "Mapper"
    assert registry.canonical_name("DataValidator") == "SchemaValidator"


@pytest.mark.parametrize("routine_type", BUILTIN_TYPES, ids=lambda t: t.type_name)
def test_builtin_is_documented(routine_type: type[Routine[Any]]) -> None:
    assert routine_type.type_name == routine_type.__name__
    assert len(routine_type.description) > 40
    schema = routine_type.config_model.model_json_schema()
    json.dumps(schema)
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("description"), name
