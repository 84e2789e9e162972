"""Logging: one line per request, engine lines that name their job and routine, JSON on demand.

Plain standard-library ``logging``: everything that logs in the process (uvicorn, SQLAlchemy, the
routines' own code) goes through the same handler and format, with nothing to install. Fields
travel as ``extra`` attributes of the record; the formatters below write them out, as
``key=value`` after the message or as keys of one JSON object per line.

``configure_logging`` is called by ``routilux serve`` and ``routilux.server.main``, never by
``create_app``: logging belongs to the process, and tests build many apps in one.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from routilux.engine import logcontext
from routilux.engine.events import Event, EventType
from routilux.jsonutil import dumps_str

access_log = logging.getLogger("routilux.access")
events_log = logging.getLogger("routilux.events")

#: The fields a line may carry besides its message, in the order they are written.
FIELDS = (
    "request_id",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "event",
    "flow_id",
    "job_id",
    "routine_id",
    "worker_id",
)
# Already said by the message of a request line, so left out of the text format.
_IN_MESSAGE = frozenset({"method", "path", "status", "duration_ms", "event"})

_EVENT_LEVELS = {
    EventType.FLOW_CREATED: logging.INFO,
    EventType.FLOW_DELETED: logging.INFO,
    EventType.FLOW_UPDATED: logging.INFO,
    EventType.JOB_COMPLETED: logging.INFO,
    EventType.JOB_CANCELLED: logging.INFO,
    EventType.JOB_FAILED: logging.WARNING,
    EventType.ROUTINE_FAILED: logging.WARNING,
    EventType.ROUTINE_RETRYING: logging.INFO,
    EventType.ROUTINE_SKIPPED: logging.INFO,
    EventType.BREAKPOINT_HIT: logging.INFO,
    EventType.WORKER_PAUSED: logging.INFO,
    EventType.WORKER_RESUMED: logging.INFO,
}


# A key a client put in a URL (`?api_key=`) or offered as a WebSocket subprotocol: never written.
_SECRETS = re.compile(r"(?i)(api[_-]?key=|routilux\.key\.)[^&\s\"'\\]*")
REDACTED = "[redacted]"


def redact(line: str) -> str:
    """``line`` with any key a client sent in a URL or subprotocol replaced by ``[redacted]``."""
    if "key" not in line and "KEY" not in line:
        return line
    return _SECRETS.sub(lambda match: match.group(1) + REDACTED, line)


class HandshakeLines(logging.Filter):
    """Drops uvicorn's own WebSocket handshake lines: the gate writes one per handshake (path
    without its query string, status, request id) in the same format as the request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "uvicorn.error"
            and isinstance(record.msg, str)
            and record.msg.startswith('%s - "WebSocket ')
        )


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the fields present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        attributes = record.__dict__
        for name in FIELDS:
            value = attributes.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(dumps_str(entry))


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value...``, for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        attributes = record.__dict__
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        for name in FIELDS:
            value = attributes.get(name)
            if value is not None and name not in _IN_MESSAGE:
                parts.append(f"{name}={value}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return redact(line)


class RoutineContextFilter(logging.Filter):
    """Name the flow, job and routine on lines logged while a routine runs (its own included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = logcontext.current.get()
        if current is not None and getattr(record, "job_id", None) is None:
            record.flow_id, record.job_id, record.routine_id = current
        return True


def configure_logging(
    level: str = "info", *, json: bool = False, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log line of the process to ``stream`` (stderr) in our format. Idempotent: a
    second call replaces the handler the first one installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "routilux", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.routilux = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler.addFilter(RoutineContextFilter())
    handler.addFilter(HandshakeLines())
    root.addHandler(handler)
    number = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    root.setLevel(number)
    # Migrations announce each step at info on every start: noise unless debugging.
    logging.getLogger("alembic").setLevel(max(number, logging.WARNING))
    return handler


def log_request(
    request_id: str, method: str, route: str, path: str, status: int, seconds: float
) -> None:
    """The one line written for each HTTP request, once its response is sent."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    duration_ms = round(seconds * 1000, 3)
    access_log.info(
        "%s %s %d %.1fms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "request_id": request_id,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
        },
    )


def log_event(event: Event) -> None:
    """An event-bus sink: the engine's noteworthy events as log lines that name their job."""
    level = _EVENT_LEVELS.get(event.type, logging.DEBUG)
    if not events_log.isEnabledFor(level):
        return
    events_log.log(
        level,
        _describe(event),
        extra={
            "event": event.type.value,
            "flow_id": event.flow_id,
            "job_id": event.job_id,
            "routine_id": event.routine_id,
            "worker_id": event.worker_id,
        },
    )


def _describe(event: Event) -> str:
    data = event.data
    text = event.type.value.replace(".", " ")
    if event.type is EventType.JOB_FAILED and isinstance(data.get("error"), dict):
        error = data["error"]
        return f"{text}: {error.get('code')}: {error.get('type')}: {error.get('message')}"
    if event.type in (EventType.ROUTINE_FAILED, EventType.ROUTINE_SKIPPED):
        return f"{text}: {data.get('error_type')}: {data.get('message')}"
    if event.type is EventType.ROUTINE_RETRYING:
        return (
            f"{text} after {data.get('error_type')}: {data.get('message')} "
            f"(attempt {data.get('attempt')}, next in {data.get('delay')} s)"
        )
    return text
