from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Breakpoint")


@_attrs_define
class Breakpoint:
    """
    Attributes:
        breakpoint_id (str):
        flow_id (str):
        routine_id (str):
        slot (None | str):
        job_id (None | str):
        condition (None | str):
        enabled (bool):
        hit_count (int):
        waiting_jobs (list[str]): Jobs paused here now.
        created_at (datetime.datetime):
    """

    breakpoint_id: str
    flow_id: str
    routine_id: str
    slot: None | str
    job_id: None | str
    condition: None | str
    enabled: bool
    hit_count: int
    waiting_jobs: list[str]
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        breakpoint_id = self.breakpoint_id

        flow_id = self.flow_id

        routine_id = self.routine_id

        slot: None | str
        slot = self.slot

        job_id: None | str
        job_id = self.job_id

        condition: None | str
        condition = self.condition

        enabled = self.enabled

        hit_count = self.hit_count

        waiting_jobs = self.waiting_jobs

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "breakpoint_id": breakpoint_id,
                "flow_id": flow_id,
                "routine_id": routine_id,
                "slot": slot,
                "job_id": job_id,
                "condition": condition,
                "enabled": enabled,
                "hit_count": hit_count,
                "waiting_jobs": waiting_jobs,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        breakpoint_id = d.pop("breakpoint_id")

        flow_id = d.pop("flow_id")

        routine_id = d.pop("routine_id")

        def _parse_slot(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        slot = _parse_slot(d.pop("slot"))

        def _parse_job_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        job_id = _parse_job_id(d.pop("job_id"))

        def _parse_condition(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        condition = _parse_condition(d.pop("condition"))

        enabled = d.pop("enabled")

        hit_count = d.pop("hit_count")

        waiting_jobs = cast(list[str], d.pop("waiting_jobs"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        breakpoint_ = cls(
            breakpoint_id=breakpoint_id,
            flow_id=flow_id,
            routine_id=routine_id,
            slot=slot,
            job_id=job_id,
            condition=condition,
            enabled=enabled,
            hit_count=hit_count,
            waiting_jobs=waiting_jobs,
            created_at=created_at,
        )

        breakpoint_.additional_properties = d
        return breakpoint_

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
