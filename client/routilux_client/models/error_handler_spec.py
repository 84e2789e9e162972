from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.error_handler_spec_strategy import ErrorHandlerSpecStrategy
from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorHandlerSpec")


@_attrs_define
class ErrorHandlerSpec:
    """What happens when a routine's logic raises.

    Attributes:
        strategy (ErrorHandlerSpecStrategy | Unset): stop: fail the job; continue: record and go on; retry: run the same
            input again with backoff, then stop; skip: mark the routine skipped, emit nothing. Default:
            ErrorHandlerSpecStrategy.STOP.
        max_retries (int | Unset): Retries after the first attempt. Default: 3.
        retry_delay (float | Unset): Seconds before the first retry. Default: 1.0.
        retry_backoff (float | Unset): Factor applied to each delay. Default: 2.0.
    """

    strategy: ErrorHandlerSpecStrategy | Unset = ErrorHandlerSpecStrategy.STOP
    max_retries: int | Unset = 3
    retry_delay: float | Unset = 1.0
    retry_backoff: float | Unset = 2.0

    def to_dict(self) -> dict[str, Any]:
        strategy: str | Unset = UNSET
        if not isinstance(self.strategy, Unset):
            strategy = self.strategy.value

        max_retries = self.max_retries

        retry_delay = self.retry_delay

        retry_backoff = self.retry_backoff

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if strategy is not UNSET:
            field_dict["strategy"] = strategy
        if max_retries is not UNSET:
            field_dict["max_retries"] = max_retries
        if retry_delay is not UNSET:
            field_dict["retry_delay"] = retry_delay
        if retry_backoff is not UNSET:
            field_dict["retry_backoff"] = retry_backoff

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _strategy = d.pop("strategy", UNSET)
        strategy: ErrorHandlerSpecStrategy | Unset
        if isinstance(_strategy, Unset):
            strategy = UNSET
        else:
            strategy = ErrorHandlerSpecStrategy(_strategy)

        max_retries = d.pop("max_retries", UNSET)

        retry_delay = d.pop("retry_delay", UNSET)

        retry_backoff = d.pop("retry_backoff", UNSET)

        error_handler_spec = cls(
            strategy=strategy,
            max_retries=max_retries,
            retry_delay=retry_delay,
            retry_backoff=retry_backoff,
        )

        return error_handler_spec
