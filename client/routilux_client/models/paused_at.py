from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.paused_at_payload import PausedAtPayload


T = TypeVar("T", bound="PausedAt")


@_attrs_define
class PausedAt:
    """Where a job waits at a breakpoint, with the data about to enter the routine.

    Attributes:
        breakpoint_id (str):
        routine_id (str):
        slot (str):
        payload (PausedAtPayload):
    """

    breakpoint_id: str
    routine_id: str
    slot: str
    payload: PausedAtPayload
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        breakpoint_id = self.breakpoint_id

        routine_id = self.routine_id

        slot = self.slot

        payload = self.payload.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "breakpoint_id": breakpoint_id,
                "routine_id": routine_id,
                "slot": slot,
                "payload": payload,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.paused_at_payload import PausedAtPayload

        d = dict(src_dict)
        breakpoint_id = d.pop("breakpoint_id")

        routine_id = d.pop("routine_id")

        slot = d.pop("slot")

        payload = PausedAtPayload.from_dict(d.pop("payload"))

        paused_at = cls(
            breakpoint_id=breakpoint_id,
            routine_id=routine_id,
            slot=slot,
            payload=payload,
        )

        paused_at.additional_properties = d
        return paused_at

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
