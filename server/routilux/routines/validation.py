"""SchemaValidator: checks payloads against a JSON Schema (Draft 2020-12)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from pydantic import ConfigDict, Field, field_validator
from referencing import Registry
from referencing.exceptions import Unresolvable

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.routines.errors import RoutineFailure


class SchemaValidatorConfig(RoutineConfig):
    # `schema` would shadow a BaseModel attribute, so the field has another name and the alias.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    schema_: dict[str, Any] = Field(
        alias="schema",
        description="A JSON Schema (Draft 2020-12). `$ref` may point inside the schema only.",
        examples=[
            {
                "type": "object",
                "required": ["email"],
                "properties": {"email": {"type": "string"}, "age": {"type": "integer"}},
            }
        ],
    )
    max_errors: int = Field(
        20, ge=1, le=1000, description="At most this many errors are reported per payload."
    )

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = _dotted(exc.path)
            raise ValueError(
                f"not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else "")
            ) from None
        return schema


class SchemaValidator(Routine[SchemaValidatorConfig]):
    type_name = "SchemaValidator"
    aliases = ("DataValidator",)
    description = (
        "Validates each payload against the JSON Schema in `schema` (Draft 2020-12). A valid "
        "payload is emitted unchanged on `valid`; an invalid one on `invalid` as `{payload, "
        "errors: [{path, message}]}`, where `path` is the dotted path of the offending value "
        "(empty for the payload itself). `$ref` can only point inside the schema: nothing is "
        "ever fetched."
    )
    events = ("valid", "invalid")
    config_model = SchemaValidatorConfig

    def __init__(self, config: SchemaValidatorConfig) -> None:
        super().__init__(config)
        # An empty registry: the default one would fetch remote `$ref`s over the network.
        self._validator = Draft202012Validator(config.schema_, registry=Registry())

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        payload = inputs.payload
        try:
            # Sorted because the validator reports in schema order, which users do not see.
            errors = sorted(self._validator.iter_errors(payload), key=lambda e: _path_order(e.path))
        except Unresolvable as exc:
            # Found only when a payload reaches the reference: resolution is lazy.
            raise RoutineFailure(
                f"the schema's $ref {exc.ref!r} cannot be resolved: "
                "only references inside the schema are supported"
            ) from None
        if not errors:
            ctx.emit("valid", payload)
            return
        ctx.emit(
            "invalid",
            payload=payload,
            errors=[
                {"path": _dotted(error.path), "message": error.message}
                for error in errors[: self.config.max_errors]
            ],
        )


def _path_order(path: Iterable[str | int]) -> tuple[tuple[int, int, str], ...]:
    """Sort key: the payload itself first, then by path, list indexes numerically."""
    return tuple((0, seg, "") if isinstance(seg, int) else (1, 0, seg) for seg in path)


def _dotted(path: Iterable[str | int]) -> str:
    return ".".join(str(segment) for segment in path)
