from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.routine_type_config_schema import RoutineTypeConfigSchema


T = TypeVar("T", bound="RoutineType")


@_attrs_define
class RoutineType:
    """
    Attributes:
        name (str):
        aliases (list[str]):
        description (str):
        slots (list[str]): Input slots (for a default config).
        events (list[str]): Output events (for a default config).
        activation (str): immediate, all_slots_ready, batch or debounce.
        config_schema (RoutineTypeConfigSchema): JSON Schema of `config`.
    """

    name: str
    aliases: list[str]
    description: str
    slots: list[str]
    events: list[str]
    activation: str
    config_schema: RoutineTypeConfigSchema
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        aliases = self.aliases

        description = self.description

        slots = self.slots

        events = self.events

        activation = self.activation

        config_schema = self.config_schema.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "aliases": aliases,
                "description": description,
                "slots": slots,
                "events": events,
                "activation": activation,
                "config_schema": config_schema,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.routine_type_config_schema import RoutineTypeConfigSchema

        d = dict(src_dict)
        name = d.pop("name")

        aliases = cast(list[str], d.pop("aliases"))

        description = d.pop("description")

        slots = cast(list[str], d.pop("slots"))

        events = cast(list[str], d.pop("events"))

        activation = d.pop("activation")

        config_schema = RoutineTypeConfigSchema.from_dict(d.pop("config_schema"))

        routine_type = cls(
            name=name,
            aliases=aliases,
            description=description,
            slots=slots,
            events=events,
            activation=activation,
            config_schema=config_schema,
        )

        routine_type.additional_properties = d
        return routine_type

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
