from enum import StrEnum


class EventType(StrEnum):
    BREAKPOINT_HIT = "breakpoint.hit"
    EVENT_EMITTED = "event.emitted"
    FLOW_CREATED = "flow.created"
    FLOW_DELETED = "flow.deleted"
    FLOW_UPDATED = "flow.updated"
    JOB_CANCELLED = "job.cancelled"
    JOB_CANCELLING = "job.cancelling"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_PAUSED = "job.paused"
    JOB_QUEUED = "job.queued"
    JOB_RECOVERED = "job.recovered"
    JOB_RESUMED = "job.resumed"
    JOB_RETRIED = "job.retried"
    JOB_STARTED = "job.started"
    REPLICA_JOINED = "replica.joined"
    REPLICA_LOST = "replica.lost"
    ROUTINE_COMPLETED = "routine.completed"
    ROUTINE_FAILED = "routine.failed"
    ROUTINE_RETRYING = "routine.retrying"
    ROUTINE_SKIPPED = "routine.skipped"
    ROUTINE_STARTED = "routine.started"
    WORKER_PAUSED = "worker.paused"
    WORKER_RESUMED = "worker.resumed"

    def __str__(self) -> str:
        return str(self.value)
