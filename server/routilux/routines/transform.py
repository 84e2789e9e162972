"""Routines that reshape payloads: Mapper picks fields, Splitter turns a list into items."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.routines import paths
from routilux.routines.errors import RoutineFailure
from routilux.routines.paths import DottedPath


class MapperConfig(RoutineConfig):
    mappings: dict[str, DottedPath] = Field(
        min_length=1,
        max_length=500,
        description="Output field -> dotted path of its value in the input payload. A path "
        "that is absent from the payload gives null.",
        examples=[{"name": "user.name", "first_item": "items.0.id"}],
    )
    keep_unmapped: bool = Field(
        False,
        description="Start from a copy of the input payload, so its fields are kept; mapped "
        "fields are then set over it.",
    )

    @field_validator("mappings")
    @classmethod
    def _non_empty_targets(cls, mappings: dict[str, str]) -> dict[str, str]:
        if "" in mappings:
            raise ValueError("an output field name must not be empty")
        return mappings


class Mapper(Routine[MapperConfig]):
    type_name = "Mapper"
    aliases = ("DataTransformer",)
    description = (
        "Builds a new payload from the input: each entry of `mappings` sets an output field to "
        "the value found at a dotted path of the input (`user.name`; `items.0.id` indexes a "
        "list; `items.-1` is the last item). A path that is absent gives null. With "
        "`keep_unmapped`, the input's own fields are kept as well. Emits the result on `output`."
    )
    config_model = MapperConfig
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        source = inputs.payload
        result: dict[str, Any] = dict(source) if self.config.keep_unmapped else {}
        for target, path in self.config.mappings.items():
            result[target] = paths.get(source, path)
        ctx.emit("output", result)


_SPLITTER_RESERVED = frozenset({"index", "count"})


class SplitterConfig(RoutineConfig):
    field: DottedPath | None = Field(
        None,
        description="Dotted path of the list to split; null means the payload's `items` field.",
        examples=["order.lines"],
    )
    item_field: str = Field(
        "item",
        min_length=1,
        max_length=128,
        description="Name of the field holding the element in each emitted payload.",
    )

    @field_validator("item_field")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in _SPLITTER_RESERVED:
            raise ValueError(f"{name!r} is reserved: every emitted payload has index and count")
        return name


class Splitter(Routine[SplitterConfig]):
    type_name = "Splitter"
    description = (
        "Emits one `item` event per element of a list in the payload (the list at `field`, or "
        "the `items` field by default), each with the payload `{<item_field>: element, index: "
        "i, count: n}`, in list order. An empty list emits nothing. A missing field or a value "
        "that is not a list fails the activation."
    )
    events = ("item",)
    config_model = SplitterConfig
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        path = self.config.field or "items"
        elements = paths.lookup(inputs.payload, path)
        if elements is paths.MISSING:
            raise RoutineFailure(f"the payload has no field {path!r} to split")
        if not isinstance(elements, list):
            kind = type(elements).__name__
            raise RoutineFailure(f"field {path!r} holds a {kind}, not a list")
        count = len(elements)
        for index, element in enumerate(elements):
            ctx.emit("item", {self.config.item_field: element, "index": index, "count": count})
