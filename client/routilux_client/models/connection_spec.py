from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ConnectionSpec")


@_attrs_define
class ConnectionSpec:
    """Wires ``<routine>.<event>`` to ``<routine>.<slot>``.

    Attributes:
        from_ (str): `routine.event` the payloads come from.
        to (str): `routine.slot` they go to.
    """

    from_: str
    to: str

    def to_dict(self) -> dict[str, Any]:
        from_ = self.from_

        to = self.to

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "from": from_,
                "to": to,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        from_ = d.pop("from")

        to = d.pop("to")

        connection_spec = cls(
            from_=from_,
            to=to,
        )

        return connection_spec
