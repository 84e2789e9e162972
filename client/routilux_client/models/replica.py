from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.replica_role import ReplicaRole
from ..models.replica_status import ReplicaStatus

T = TypeVar("T", bound="Replica")


@_attrs_define
class Replica:
    """One server process of the deployment.

    Attributes:
        replica_id (str): Fresh at every start of a process.
        role (ReplicaRole):
        host (str): The host (machine or container) name it runs on.
        pid (int): Its process id on that host.
        started_at (datetime.datetime):
        heartbeat_at (datetime.datetime): Its last heartbeat (alive), or when it stopped (stopped).
        status (ReplicaStatus):
        jobs_held (int): Unfinished jobs it owns (queued or running).
    """

    replica_id: str
    role: ReplicaRole
    host: str
    pid: int
    started_at: datetime.datetime
    heartbeat_at: datetime.datetime
    status: ReplicaStatus
    jobs_held: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        replica_id = self.replica_id

        role = self.role.value

        host = self.host

        pid = self.pid

        started_at = self.started_at.isoformat()

        heartbeat_at = self.heartbeat_at.isoformat()

        status = self.status.value

        jobs_held = self.jobs_held

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "replica_id": replica_id,
                "role": role,
                "host": host,
                "pid": pid,
                "started_at": started_at,
                "heartbeat_at": heartbeat_at,
                "status": status,
                "jobs_held": jobs_held,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        replica_id = d.pop("replica_id")

        role = ReplicaRole(d.pop("role"))

        host = d.pop("host")

        pid = d.pop("pid")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        heartbeat_at = datetime.datetime.fromisoformat(d.pop("heartbeat_at"))

        status = ReplicaStatus(d.pop("status"))

        jobs_held = d.pop("jobs_held")

        replica = cls(
            replica_id=replica_id,
            role=role,
            host=host,
            pid=pid,
            started_at=started_at,
            heartbeat_at=heartbeat_at,
            status=status,
            jobs_held=jobs_held,
        )

        replica.additional_properties = d
        return replica

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
