from __future__ import annotations

from typing import Any

import pytest

from routilux.engine import JobStatus
from routilux.routines import RoutineFailure, SchemaValidator
from routilux.routines.validation import SchemaValidatorConfig

from .support import activate, build, flow_errors, run_flow

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["email"],
    "properties": {
        "email": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


async def test_valid_payload_is_emitted_unchanged() -> None:
    validator = build(SchemaValidator, {"schema": SCHEMA})
    payload = {"email": "a@example.com", "tags": ["x"]}
    assert await activate(validator, payload) == [("valid", payload)]


async def test_invalid_payload_comes_with_located_errors() -> None:
    validator = build(SchemaValidator, {"schema": SCHEMA})
    payload = {"tags": ["x", 3]}
    [(event, result)] = await activate(validator, payload)
    assert event == "invalid"
    assert result["payload"] == payload
    assert [error["path"] for error in result["errors"]] == ["", "tags.1"]
    assert "'email' is a required property" in result["errors"][0]["message"]


async def test_errors_are_capped() -> None:
    schema = {"properties": {"l": {"type": "array", "items": {"type": "string"}}}}
    payload = {"l": [1, 2, 3]}
    [(_, result)] = await activate(build(SchemaValidator, {"schema": schema}), payload)
    assert [error["path"] for error in result["errors"]] == ["l.0", "l.1", "l.2"]
    capped = build(SchemaValidator, {"schema": schema, "max_errors": 2})
    [(_, result)] = await activate(capped, payload)
    assert [error["path"] for error in result["errors"]] == ["l.0", "l.1"]


async def test_internal_refs_resolve() -> None:
    schema = {
        "$defs": {"id": {"type": "integer"}},
        "properties": {"id": {"$ref": "#/$defs/id"}},
    }
    validator = build(SchemaValidator, {"schema": schema})
    assert await activate(validator, {"id": 1}) == [("valid", {"id": 1})]
    [(event, _)] = await activate(validator, {"id": "x"})
    assert event == "invalid"


def test_config_keeps_the_schema_name() -> None:
    config = SchemaValidatorConfig.model_validate({"schema": SCHEMA})
    assert config.model_dump()["schema"] == SCHEMA
    assert "schema" in SchemaValidatorConfig.model_json_schema()["properties"]
    assert "DataValidator" in SchemaValidator.aliases


def test_bad_schema_is_located() -> None:
    document = """
routines:
  check: {class: DataValidator, config: {schema: {type: 12}}}
"""
    [(loc, message)] = flow_errors(document)
    assert loc == ("routines", "check", "config", "schema")
    assert "not a valid JSON Schema" in message


async def test_validator_flow_sends_valid_and_invalid_apart() -> None:
    document = """
routines:
  split: {class: Splitter, config: {item_field: user}}
  pick: {class: Mapper, config: {mappings: {email: user.email}}}
  check:
    class: SchemaValidator
    config: {schema: {type: object, properties: {email: {type: string}}}}
connections:
  - {from: split.item, to: pick.input}
  - {from: pick.output, to: check.input}
"""
    job = await run_flow(document, {"items": [{"email": "a@example.com"}, {}]})
    assert job.status is JobStatus.COMPLETED
    assert job.output["check.valid"] == [{"email": "a@example.com"}]
    [invalid] = job.output["check.invalid"]
    assert invalid["payload"] == {"email": None}
    assert invalid["errors"] == [{"path": "email", "message": "None is not of type 'string'"}]


async def test_external_ref_fails_the_activation_without_fetching() -> None:
    schema = {"properties": {"a": {"$ref": "https://example.com/a.json"}}}
    validator = build(SchemaValidator, {"schema": schema})
    assert await activate(validator, {"b": 1}) == [("valid", {"b": 1})]
    with pytest.raises(RoutineFailure, match="cannot be resolved"):
        await activate(validator, {"a": 1})
