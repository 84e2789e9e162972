from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.routine_status import RoutineStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="RoutineProgress")


@_attrs_define
class RoutineProgress:
    """
    Attributes:
        status (RoutineStatus):
        activations (int):
        completed (int):
        failed (int):
        retries (int):
        emitted (int):
        last_error (None | str | Unset):
    """

    status: RoutineStatus
    activations: int
    completed: int
    failed: int
    retries: int
    emitted: int
    last_error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        activations = self.activations

        completed = self.completed

        failed = self.failed

        retries = self.retries

        emitted = self.emitted

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "activations": activations,
                "completed": completed,
                "failed": failed,
                "retries": retries,
                "emitted": emitted,
            }
        )
        if last_error is not UNSET:
            field_dict["last_error"] = last_error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = RoutineStatus(d.pop("status"))

        activations = d.pop("activations")

        completed = d.pop("completed")

        failed = d.pop("failed")

        retries = d.pop("retries")

        emitted = d.pop("emitted")

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))

        routine_progress = cls(
            status=status,
            activations=activations,
            completed=completed,
            failed=failed,
            retries=retries,
            emitted=emitted,
            last_error=last_error,
        )

        routine_progress.additional_properties = d
        return routine_progress

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
