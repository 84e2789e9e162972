from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="JobError")


@_attrs_define
class JobError:
    """Why a job failed.

    Attributes:
        code (str): routine_failed, job_timeout, too_many_activations, job_backlog_exceeded, output_too_large,
            interrupted, ...
        type_ (str): The exception type, or the engine's name for the failure.
        message (str):
        routine_id (None | str | Unset):
    """

    code: str
    type_: str
    message: str
    routine_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        type_ = self.type_

        message = self.message

        routine_id: None | str | Unset
        if isinstance(self.routine_id, Unset):
            routine_id = UNSET
        else:
            routine_id = self.routine_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "type": type_,
                "message": message,
            }
        )
        if routine_id is not UNSET:
            field_dict["routine_id"] = routine_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = d.pop("code")

        type_ = d.pop("type")

        message = d.pop("message")

        def _parse_routine_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        routine_id = _parse_routine_id(d.pop("routine_id", UNSET))

        job_error = cls(
            code=code,
            type_=type_,
            message=message,
            routine_id=routine_id,
        )

        job_error.additional_properties = d
        return job_error

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
