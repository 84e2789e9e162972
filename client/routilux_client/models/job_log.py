from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_level import LogLevel

T = TypeVar("T", bound="JobLog")


@_attrs_define
class JobLog:
    """One line that a routine's code logged (through Python's `logging`) during the job.

    Attributes:
        id (int): Increasing; pass the last one as `after` for more.
        job_id (str):
        routine_id (None | str): The routine that logged it; null for the server.
        activation (int | None): Which of the routine's activations in this job, from 1.
        attempt (int | None): Which try of that activation (retries: 2, …).
        level (LogLevel):
        logger (str): The Python logger's name.
        message (str): The formatted message (cut at 8192 characters).
        time (datetime.datetime):
        exception (None | str): The traceback, when one was logged.
    """

    id: int
    job_id: str
    routine_id: None | str
    activation: int | None
    attempt: int | None
    level: LogLevel
    logger: str
    message: str
    time: datetime.datetime
    exception: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        job_id = self.job_id

        routine_id: None | str
        routine_id = self.routine_id

        activation: int | None
        activation = self.activation

        attempt: int | None
        attempt = self.attempt

        level = self.level.value

        logger = self.logger

        message = self.message

        time = self.time.isoformat()

        exception: None | str
        exception = self.exception

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "job_id": job_id,
                "routine_id": routine_id,
                "activation": activation,
                "attempt": attempt,
                "level": level,
                "logger": logger,
                "message": message,
                "time": time,
                "exception": exception,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        job_id = d.pop("job_id")

        def _parse_routine_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        routine_id = _parse_routine_id(d.pop("routine_id"))

        def _parse_activation(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        activation = _parse_activation(d.pop("activation"))

        def _parse_attempt(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        attempt = _parse_attempt(d.pop("attempt"))

        level = LogLevel(d.pop("level"))

        logger = d.pop("logger")

        message = d.pop("message")

        time = datetime.datetime.fromisoformat(d.pop("time"))

        def _parse_exception(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        exception = _parse_exception(d.pop("exception"))

        job_log = cls(
            id=id,
            job_id=job_id,
            routine_id=routine_id,
            activation=activation,
            attempt=attempt,
            level=level,
            logger=logger,
            message=message,
            time=time,
            exception=exception,
        )

        job_log.additional_properties = d
        return job_log

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
