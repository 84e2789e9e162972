from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="BreakpointCreate")


@_attrs_define
class BreakpointCreate:
    """Where to pause: a flow's routine, optionally one slot, one job, and a condition.

    Attributes:
        flow_id (str):
        routine_id (str):
        slot (None | str | Unset):
        job_id (None | str | Unset): Only this job.
        condition (None | str | Unset): A CEL expression over the payload `data`; pause only when it is true.
        enabled (bool | Unset):  Default: True.
    """

    flow_id: str
    routine_id: str
    slot: None | str | Unset = UNSET
    job_id: None | str | Unset = UNSET
    condition: None | str | Unset = UNSET
    enabled: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        flow_id = self.flow_id

        routine_id = self.routine_id

        slot: None | str | Unset
        if isinstance(self.slot, Unset):
            slot = UNSET
        else:
            slot = self.slot

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        condition: None | str | Unset
        if isinstance(self.condition, Unset):
            condition = UNSET
        else:
            condition = self.condition

        enabled = self.enabled

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "flow_id": flow_id,
                "routine_id": routine_id,
            }
        )
        if slot is not UNSET:
            field_dict["slot"] = slot
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if condition is not UNSET:
            field_dict["condition"] = condition
        if enabled is not UNSET:
            field_dict["enabled"] = enabled

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        flow_id = d.pop("flow_id")

        routine_id = d.pop("routine_id")

        def _parse_slot(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slot = _parse_slot(d.pop("slot", UNSET))

        def _parse_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))

        def _parse_condition(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        condition = _parse_condition(d.pop("condition", UNSET))

        enabled = d.pop("enabled", UNSET)

        breakpoint_create = cls(
            flow_id=flow_id,
            routine_id=routine_id,
            slot=slot,
            job_id=job_id,
            condition=condition,
            enabled=enabled,
        )

        return breakpoint_create
