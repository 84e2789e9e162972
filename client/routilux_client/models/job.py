from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_status import JobStatus

if TYPE_CHECKING:
    from ..models.job_error import JobError
    from ..models.job_input import JobInput
    from ..models.job_metadata import JobMetadata
    from ..models.job_output import JobOutput
    from ..models.job_progress import JobProgress
    from ..models.paused_at import PausedAt


T = TypeVar("T", bound="Job")


@_attrs_define
class Job:
    """One run of a flow on its input.

    Attributes:
        job_id (str):
        flow_id (str):
        worker_id (str):
        status (JobStatus):
        input_ (JobInput):
        entry (None | str):
        metadata (JobMetadata):
        output (JobOutput): Payloads of events with no outgoing connection, by `routine.event`.
        error (JobError | None):
        paused_at (None | PausedAt):
        progress (JobProgress): Per routine, by routine id.
        created_at (datetime.datetime):
        started_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        flow_revision (int): The flow's revision the job runs: the one current when it was queued.
        recoveries (int): How often the job was resumed from its last checkpoint after the server process running it
            stopped (a crash, a restart).
        replica_id (None | str): The replica (server process, see `list_replicas`) running the job; null while it is
            queued. A finished job keeps the replica that ran it last.
    """

    job_id: str
    flow_id: str
    worker_id: str
    status: JobStatus
    input_: JobInput
    entry: None | str
    metadata: JobMetadata
    output: JobOutput
    error: JobError | None
    paused_at: None | PausedAt
    progress: JobProgress
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    flow_revision: int
    recoveries: int
    replica_id: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error import JobError
        from ..models.paused_at import PausedAt

        job_id = self.job_id

        flow_id = self.flow_id

        worker_id = self.worker_id

        status = self.status.value

        input_ = self.input_.to_dict()

        entry: None | str
        entry = self.entry

        metadata = self.metadata.to_dict()

        output = self.output.to_dict()

        error: dict[str, Any] | None
        if isinstance(self.error, JobError):
            error = self.error.to_dict()
        else:
            error = self.error

        paused_at: dict[str, Any] | None
        if isinstance(self.paused_at, PausedAt):
            paused_at = self.paused_at.to_dict()
        else:
            paused_at = self.paused_at

        progress = self.progress.to_dict()

        created_at = self.created_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        flow_revision = self.flow_revision

        recoveries = self.recoveries

        replica_id: None | str
        replica_id = self.replica_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "job_id": job_id,
                "flow_id": flow_id,
                "worker_id": worker_id,
                "status": status,
                "input": input_,
                "entry": entry,
                "metadata": metadata,
                "output": output,
                "error": error,
                "paused_at": paused_at,
                "progress": progress,
                "created_at": created_at,
                "started_at": started_at,
                "finished_at": finished_at,
                "flow_revision": flow_revision,
                "recoveries": recoveries,
                "replica_id": replica_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_error import JobError
        from ..models.job_input import JobInput
        from ..models.job_metadata import JobMetadata
        from ..models.job_output import JobOutput
        from ..models.job_progress import JobProgress
        from ..models.paused_at import PausedAt

        d = dict(src_dict)
        job_id = d.pop("job_id")

        flow_id = d.pop("flow_id")

        worker_id = d.pop("worker_id")

        status = JobStatus(d.pop("status"))

        input_ = JobInput.from_dict(d.pop("input"))

        def _parse_entry(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        entry = _parse_entry(d.pop("entry"))

        metadata = JobMetadata.from_dict(d.pop("metadata"))

        output = JobOutput.from_dict(d.pop("output"))

        def _parse_error(data: object) -> JobError | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobError | None, data)

        error = _parse_error(d.pop("error"))

        def _parse_paused_at(data: object) -> None | PausedAt:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                paused_at_type_0 = PausedAt.from_dict(data)

                return paused_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PausedAt, data)

        paused_at = _parse_paused_at(d.pop("paused_at"))

        progress = JobProgress.from_dict(d.pop("progress"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        flow_revision = d.pop("flow_revision")

        recoveries = d.pop("recoveries")

        def _parse_replica_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        replica_id = _parse_replica_id(d.pop("replica_id"))

        job = cls(
            job_id=job_id,
            flow_id=flow_id,
            worker_id=worker_id,
            status=status,
            input_=input_,
            entry=entry,
            metadata=metadata,
            output=output,
            error=error,
            paused_at=paused_at,
            progress=progress,
            created_at=created_at,
            started_at=started_at,
            finished_at=finished_at,
            flow_revision=flow_revision,
            recoveries=recoveries,
            replica_id=replica_id,
        )

        job.additional_properties = d
        return job

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
