"""The engine's exceptions: one root, a small hierarchy under it.

Each error carries a stable snake_case ``code``; the HTTP layer maps classes to statuses in one
table and never needs to inspect messages.
"""

from __future__ import annotations

from typing import Any


class RoutiluxError(Exception):
    """Root of every error the engine raises."""

    code = "routilux_error"

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(RoutiluxError):
    """A resource that does not exist."""

    code = "not_found"


class FlowNotFound(NotFound):
    code = "flow_not_found"


class FlowRevisionNotFound(NotFound):
    code = "flow_revision_not_found"


class JobNotFound(NotFound):
    code = "job_not_found"


class WorkerNotFound(NotFound):
    code = "worker_not_found"


class BreakpointNotFound(NotFound):
    code = "breakpoint_not_found"


class Conflict(RoutiluxError):
    """A request that the current state of a resource does not allow."""

    code = "conflict"


class FlowAlreadyExists(Conflict):
    code = "flow_already_exists"


class FlowHasActiveJobs(Conflict):
    code = "flow_has_active_jobs"


class JobNotCancellable(Conflict):
    code = "job_not_cancellable"


class JobNotRetryable(Conflict):
    code = "job_not_retryable"


class NoJobWaiting(Conflict):
    code = "no_job_waiting"


class WorkerStopped(Conflict):
    code = "worker_stopped"


class QueueFull(RoutiluxError):
    """A worker's queue is at its bound; the caller should retry later."""

    code = "queue_full"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @classmethod
    def deployment(cls, worker_id: str, queued: int) -> QueueFull:
        """The worker's queue over every process of the deployment is at its bound."""
        return cls(
            f"worker {worker_id!r} has {queued} queued jobs in the deployment (the limit)",
            retry_after=1,
        )


class StoreUnavailable(RoutiluxError):
    """The database cannot be reached (it went away, or is restarting): nothing was written;
    retry later. The store reconnects by itself."""

    code = "store_unavailable"

    def __init__(self, message: str = "the database cannot be reached", *, retry_after: int = 2):
        super().__init__(message)
        self.retry_after = retry_after


class ReplicaUnavailable(StoreUnavailable):
    """The replica holding a job did not answer a control forwarded to it in time (it died,
    or is stuck): nothing is known to have changed; retry later, when it answers or another
    replica has taken its jobs over."""

    code = "replica_unavailable"


class QueuedInputFull(QueueFull):
    """The queued jobs' input bytes (one worker's, or all) are at their bound; retry later."""

    code = "queued_input_full"


class LimitReached(Conflict):
    """Storing one more of something would pass an operator's bound; delete some first."""

    code = "limit_reached"


class TooManyFlows(LimitReached):
    code = "too_many_flows"


class FlowStorageFull(LimitReached):
    code = "flow_storage_full"


class TooManyBreakpoints(LimitReached):
    code = "too_many_breakpoints"


class InvalidInput(RoutiluxError):
    """Input that is well formed but names things that do not exist or break a bound."""

    code = "invalid_input"

    def __init__(self, message: str, *, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class SpecError(RoutiluxError):
    """One problem in a flow document, with its exact location."""

    code = "invalid_flow"

    def __init__(self, loc: tuple[str | int, ...], message: str, kind: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.kind = kind


class FlowValidationError(RoutiluxError):
    """A flow document with one or more problems; nothing was created or run."""

    code = "invalid_flow"

    def __init__(self, errors: list[SpecError]) -> None:
        summary = "; ".join(
            f"{'.'.join(map(str, e.loc)) or '(document)'}: {e.message}" for e in errors[:5]
        )
        super().__init__(f"invalid flow: {summary}")
        self.errors = errors
