from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.execution_strategy import ExecutionStrategy
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_handler_spec import ErrorHandlerSpec


T = TypeVar("T", bound="ExecutionSpec")


@_attrs_define
class ExecutionSpec:
    """How jobs of the flow run.

    Attributes:
        timeout (float | None | Unset): Seconds a job may run before it fails.
        concurrency (int | None | Unset): Jobs the flow's worker runs at once.
        error_handler (ErrorHandlerSpec | None | Unset): Default for routines that declare none.
        strategy (ExecutionStrategy | None | Unset): Accepted for compatibility with existing flow files; has no effect.
        max_workers (int | None | Unset): Compatibility name for `concurrency`.
    """

    timeout: float | None | Unset = UNSET
    concurrency: int | None | Unset = UNSET
    error_handler: ErrorHandlerSpec | None | Unset = UNSET
    strategy: ExecutionStrategy | None | Unset = UNSET
    max_workers: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_handler_spec import ErrorHandlerSpec

        timeout: float | None | Unset
        if isinstance(self.timeout, Unset):
            timeout = UNSET
        else:
            timeout = self.timeout

        concurrency: int | None | Unset
        if isinstance(self.concurrency, Unset):
            concurrency = UNSET
        else:
            concurrency = self.concurrency

        error_handler: dict[str, Any] | None | Unset
        if isinstance(self.error_handler, Unset):
            error_handler = UNSET
        elif isinstance(self.error_handler, ErrorHandlerSpec):
            error_handler = self.error_handler.to_dict()
        else:
            error_handler = self.error_handler

        strategy: None | str | Unset
        if isinstance(self.strategy, Unset):
            strategy = UNSET
        elif isinstance(self.strategy, ExecutionStrategy):
            strategy = self.strategy.value
        else:
            strategy = self.strategy

        max_workers: int | None | Unset
        if isinstance(self.max_workers, Unset):
            max_workers = UNSET
        else:
            max_workers = self.max_workers

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if timeout is not UNSET:
            field_dict["timeout"] = timeout
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if error_handler is not UNSET:
            field_dict["error_handler"] = error_handler
        if strategy is not UNSET:
            field_dict["strategy"] = strategy
        if max_workers is not UNSET:
            field_dict["max_workers"] = max_workers

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.error_handler_spec import ErrorHandlerSpec

        d = dict(src_dict)

        def _parse_timeout(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        timeout = _parse_timeout(d.pop("timeout", UNSET))

        def _parse_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrency = _parse_concurrency(d.pop("concurrency", UNSET))

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

        def _parse_strategy(data: object) -> ExecutionStrategy | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                strategy_type_0 = ExecutionStrategy(data)

                return strategy_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExecutionStrategy | None | Unset, data)

        strategy = _parse_strategy(d.pop("strategy", UNSET))

        def _parse_max_workers(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_workers = _parse_max_workers(d.pop("max_workers", UNSET))

        execution_spec = cls(
            timeout=timeout,
            concurrency=concurrency,
            error_handler=error_handler,
            strategy=strategy,
            max_workers=max_workers,
        )

        return execution_spec
