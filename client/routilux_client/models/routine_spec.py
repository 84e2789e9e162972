from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_handler_spec import ErrorHandlerSpec
    from ..models.routine_spec_config import RoutineSpecConfig


T = TypeVar("T", bound="RoutineSpec")


@_attrs_define
class RoutineSpec:
    """One routine of a flow: a registered type, its config, and its error handler.

    Attributes:
        class_ (str): A registered routine type.
        config (RoutineSpecConfig | Unset): The type's settings (see its config fields).
        error_handler (ErrorHandlerSpec | None | Unset): When its logic raises; by default the flow's.
    """

    class_: str
    config: RoutineSpecConfig | Unset = UNSET
    error_handler: ErrorHandlerSpec | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_handler_spec import ErrorHandlerSpec

        class_ = self.class_

        config: dict[str, Any] | Unset = UNSET
        if not isinstance(self.config, Unset):
            config = self.config.to_dict()

        error_handler: dict[str, Any] | None | Unset
        if isinstance(self.error_handler, Unset):
            error_handler = UNSET
        elif isinstance(self.error_handler, ErrorHandlerSpec):
            error_handler = self.error_handler.to_dict()
        else:
            error_handler = self.error_handler

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "class": class_,
            }
        )
        if config is not UNSET:
            field_dict["config"] = config
        if error_handler is not UNSET:
            field_dict["error_handler"] = error_handler

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.error_handler_spec import ErrorHandlerSpec
        from ..models.routine_spec_config import RoutineSpecConfig

        d = dict(src_dict)
        class_ = d.pop("class")

        _config = d.pop("config", UNSET)
        config: RoutineSpecConfig | Unset
        if isinstance(_config, Unset):
            config = UNSET
        else:
            config = RoutineSpecConfig.from_dict(_config)

        def _parse_error_handler(data: object) -> ErrorHandlerSpec | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_handler_type_0 = ErrorHandlerSpec.from_dict(data)

                return error_handler_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ErrorHandlerSpec | None | Unset, data)

        error_handler = _parse_error_handler(d.pop("error_handler", UNSET))

        routine_spec = cls(
            class_=class_,
            config=config,
            error_handler=error_handler,
        )

        return routine_spec
