"""What routine code logs during a job, kept per job: a plain ``logging.Handler``.

The runtime installs :class:`JobLogCapture` on the root logger while it runs. A record logged
while a routine of one of its jobs runs (``logcontext.current`` says which: the routine's own
task, callback or thread) becomes a :class:`JobLog` handed to the store (write-behind, like
events). Records below the process's log level are never made, so they are not captured either.

Bounded: a job keeps its first ``per_job`` lines; later ones are counted, not kept, and one last
line at the end of the job says how many were dropped. The start of a story is what explains the
rest, and keeping it needs no delete per insert; the job's ``error`` says how it ended anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from routilux.engine import logcontext

log = logging.getLogger("routilux.engine")

MAX_MESSAGE_CHARS = 8192
"""A longer message (or traceback) is cut there, with a note of how much was cut."""
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# The server's own lines about requests, events and storage are not the routine's output (the
# event log would repeat every event of the job).
_IGNORED_LOGGERS = ("routilux.events", "routilux.access", "routilux.store", "routilux.server")


def level_name(levelno: int) -> str:
    """The lower-case name of the nearest standard level at or below ``levelno``."""
    name = "debug"
    for candidate, number in LEVELS.items():
        if levelno >= number:
            name = candidate
    return name


@dataclass(frozen=True, slots=True)
class JobLog:
    """One line a routine logged during a job."""

    id: int
    job_id: str
    flow_id: str
    routine_id: str | None
    activation: int | None
    attempt: int | None
    levelno: int
    logger: str
    message: str
    time: datetime
    exception: str | None = None

    @property
    def level(self) -> str:
        return level_name(self.levelno)


def _cut(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return f"{text[:MAX_MESSAGE_CHARS]}… ({len(text) - MAX_MESSAGE_CHARS} more characters)"


class JobLogCapture(logging.Handler):
    """Hands the lines logged by routines of the jobs that ``owns`` accepts to ``sink``."""

    def __init__(
        self,
        sink: Callable[[JobLog], None],
        *,
        per_job: int,
        owns: Callable[[str], bool],
    ) -> None:
        super().__init__(logging.NOTSET)
        self._sink = sink
        self.per_job = per_job
        self._owns = owns
        self._counts: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._last_id = 0
        self._formatter = logging.Formatter()

    def _next_id(self) -> int:
        # Ids follow the clock (microseconds), as the event bus's do: they keep increasing across
        # restarts without asking the store for the last one. (Processes sharing a database
        # have them replaced by the deployment's as they are stored: store/batches.number.)
        self._last_id = max(self._last_id + 1, time.time_ns() // 1000)
        return self._last_id

    def emit(self, record: logging.LogRecord) -> None:
        # ``handle`` holds ``self.lock`` around this: lines from routine threads are serialized.
        current = logcontext.current.get()
        if current is None or record.name.startswith(_IGNORED_LOGGERS):
            return
        flow_id, job_id, routine_id = current
        if not self._owns(job_id):
            return
        count = self._counts.get(job_id, 0)
        if count >= self.per_job:
            self._dropped[job_id] = self._dropped.get(job_id, 0) + 1
            return
        try:
            message = record.getMessage()
            exception = None
            if record.exc_info:
                exception = _cut(self._formatter.formatException(record.exc_info))
            elif record.exc_text:
                exception = _cut(record.exc_text)
        except Exception:
            self.handleError(record)
            return
        self._counts[job_id] = count + 1
        activation, attempt = logcontext.activation.get() or (None, None)
        try:
            self._sink(
                JobLog(
                    id=self._next_id(),
                    job_id=job_id,
                    flow_id=flow_id,
                    routine_id=routine_id,
                    activation=activation,
                    attempt=attempt,
                    levelno=record.levelno,
                    logger=record.name,
                    message=_cut(message),
                    time=datetime.fromtimestamp(record.created, UTC),
                    exception=exception,
                )
            )
        except Exception:
            # Keeping the line failed (the store is closing, say): never the routine's problem.
            self.handleError(record)

    def finish(self, job_id: str, flow_id: str) -> None:
        """Forget a finished job's count; if lines were dropped, record one line saying so."""
        with self.lock:  # type: ignore[union-attr]  # Handler.createLock() always made one
            self._counts.pop(job_id, None)
            dropped = self._dropped.pop(job_id, 0)
            if not dropped:
                return
            self._sink_quietly(
                JobLog(
                    id=self._next_id(),
                    job_id=job_id,
                    flow_id=flow_id,
                    routine_id=None,
                    activation=None,
                    attempt=None,
                    levelno=logging.WARNING,
                    logger="routilux.engine",
                    message=(
                        f"{dropped} more log line was dropped"
                        if dropped == 1
                        else f"{dropped} more log lines were dropped"
                    )
                    + f": a job keeps its first {self.per_job}",
                    time=datetime.now(UTC),
                )
            )

    def _sink_quietly(self, line: JobLog) -> None:
        try:
            self._sink(line)
        except Exception:
            log.warning("could not keep a log line of job %s", line.job_id, exc_info=True)
