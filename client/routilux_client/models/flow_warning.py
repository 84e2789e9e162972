from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="FlowWarning")


@_attrs_define
class FlowWarning:
    """Something that looks wrong in a flow without making it invalid.

    Attributes:
        type_ (str): `unbounded_cycle`: a cycle nothing can stop.
        message (str):
        routines (list[str]): The routines concerned.
    """

    type_: str
    message: str
    routines: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        message = self.message

        routines = self.routines

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "message": message,
                "routines": routines,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = d.pop("type")

        message = d.pop("message")

        routines = cast(list[str], d.pop("routines"))

        flow_warning = cls(
            type_=type_,
            message=message,
            routines=routines,
        )

        flow_warning.additional_properties = d
        return flow_warning

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
