from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.connection_spec import ConnectionSpec
    from ..models.execution_spec import ExecutionSpec
    from ..models.flow_routines import FlowRoutines


T = TypeVar("T", bound="Flow")


@_attrs_define
class Flow:
    """A stored flow: its document, with the id filled in, and bookkeeping.

    Attributes:
        flow_id (str):
        routines (FlowRoutines): The routines, by routine id.
        revision (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        name (None | str | Unset): A title for people.
        description (None | str | Unset): Free text.
        connections (list[ConnectionSpec] | Unset): Event-to-slot wires; several may leave an event or reach a slot.
        entry (None | str | Unset): Where a job's input enters (`routine.slot`); by default the one routine with no
            incoming connection, at its first slot (required when several have none).
        execution (ExecutionSpec | Unset): How jobs of the flow run.
    """

    flow_id: str
    routines: FlowRoutines
    revision: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    name: None | str | Unset = UNSET
    description: None | str | Unset = UNSET
    connections: list[ConnectionSpec] | Unset = UNSET
    entry: None | str | Unset = UNSET
    execution: ExecutionSpec | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        flow_id = self.flow_id

        routines = self.routines.to_dict()

        revision = self.revision

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        connections: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.connections, Unset):
            connections = []
            for connections_item_data in self.connections:
                connections_item = connections_item_data.to_dict()
                connections.append(connections_item)

        entry: None | str | Unset
        if isinstance(self.entry, Unset):
            entry = UNSET
        else:
            entry = self.entry

        execution: dict[str, Any] | Unset = UNSET
        if not isinstance(self.execution, Unset):
            execution = self.execution.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "flow_id": flow_id,
                "routines": routines,
                "revision": revision,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if description is not UNSET:
            field_dict["description"] = description
        if connections is not UNSET:
            field_dict["connections"] = connections
        if entry is not UNSET:
            field_dict["entry"] = entry
        if execution is not UNSET:
            field_dict["execution"] = execution

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.connection_spec import ConnectionSpec
        from ..models.execution_spec import ExecutionSpec
        from ..models.flow_routines import FlowRoutines

        d = dict(src_dict)
        flow_id = d.pop("flow_id")

        routines = FlowRoutines.from_dict(d.pop("routines"))

        revision = d.pop("revision")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        _connections = d.pop("connections", UNSET)
        connections: list[ConnectionSpec] | Unset = UNSET
        if _connections is not UNSET:
            connections = []
            for connections_item_data in _connections:
                connections_item = ConnectionSpec.from_dict(connections_item_data)

                connections.append(connections_item)

        def _parse_entry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        entry = _parse_entry(d.pop("entry", UNSET))

        _execution = d.pop("execution", UNSET)
        execution: ExecutionSpec | Unset
        if isinstance(_execution, Unset):
            execution = UNSET
        else:
            execution = ExecutionSpec.from_dict(_execution)

        flow = cls(
            flow_id=flow_id,
            routines=routines,
            revision=revision,
            created_at=created_at,
            updated_at=updated_at,
            name=name,
            description=description,
            connections=connections,
            entry=entry,
            execution=execution,
        )

        return flow
