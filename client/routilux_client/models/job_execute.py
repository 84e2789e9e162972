from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_execute_data import JobExecuteData
    from ..models.job_execute_metadata import JobExecuteMetadata


T = TypeVar("T", bound="JobExecute")


@_attrs_define
class JobExecute:
    """Input for a new job of a flow.

    Attributes:
        data (JobExecuteData): The payload that enters the flow.
        entry (None | str | Unset): `routine.slot` where the data enters; by default the flow's entry.
        metadata (JobExecuteMetadata | None | Unset): Free-form labels kept with the job.
    """

    data: JobExecuteData
    entry: None | str | Unset = UNSET
    metadata: JobExecuteMetadata | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_execute_metadata import JobExecuteMetadata

        data = self.data.to_dict()

        entry: None | str | Unset
        if isinstance(self.entry, Unset):
            entry = UNSET
        else:
            entry = self.entry

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, JobExecuteMetadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "data": data,
            }
        )
        if entry is not UNSET:
            field_dict["entry"] = entry
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_execute_data import JobExecuteData
        from ..models.job_execute_metadata import JobExecuteMetadata

        d = dict(src_dict)
        data = JobExecuteData.from_dict(d.pop("data"))

        def _parse_entry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        entry = _parse_entry(d.pop("entry", UNSET))

        def _parse_metadata(data: object) -> JobExecuteMetadata | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = JobExecuteMetadata.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobExecuteMetadata | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        job_execute = cls(
            data=data,
            entry=entry,
            metadata=metadata,
        )

        return job_execute
