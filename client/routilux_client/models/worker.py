from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.worker_status import WorkerStatus

T = TypeVar("T", bound="Worker")


@_attrs_define
class Worker:
    """The long-lived executor of one flow's jobs.

    Attributes:
        worker_id (str):
        flow_id (str):
        status (WorkerStatus):
        concurrency (int):
        active_jobs (int):
        queued_jobs (int):
        jobs_processed (int):
        jobs_failed (int):
        created_at (datetime.datetime):
    """

    worker_id: str
    flow_id: str
    status: WorkerStatus
    concurrency: int
    active_jobs: int
    queued_jobs: int
    jobs_processed: int
    jobs_failed: int
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        worker_id = self.worker_id

        flow_id = self.flow_id

        status = self.status.value

        concurrency = self.concurrency

        active_jobs = self.active_jobs

        queued_jobs = self.queued_jobs

        jobs_processed = self.jobs_processed

        jobs_failed = self.jobs_failed

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "worker_id": worker_id,
                "flow_id": flow_id,
                "status": status,
                "concurrency": concurrency,
                "active_jobs": active_jobs,
                "queued_jobs": queued_jobs,
                "jobs_processed": jobs_processed,
                "jobs_failed": jobs_failed,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        worker_id = d.pop("worker_id")

        flow_id = d.pop("flow_id")

        status = WorkerStatus(d.pop("status"))

        concurrency = d.pop("concurrency")

        active_jobs = d.pop("active_jobs")

        queued_jobs = d.pop("queued_jobs")

        jobs_processed = d.pop("jobs_processed")

        jobs_failed = d.pop("jobs_failed")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        worker = cls(
            worker_id=worker_id,
            flow_id=flow_id,
            status=status,
            concurrency=concurrency,
            active_jobs=active_jobs,
            queued_jobs=queued_jobs,
            jobs_processed=jobs_processed,
            jobs_failed=jobs_failed,
            created_at=created_at,
        )

        worker.additional_properties = d
        return worker

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
