from enum import StrEnum


class RoutineStatus(StrEnum):
    COMPLETED = "completed"
    ERROR_CONTINUED = "error_continued"
    FAILED = "failed"
    IDLE = "idle"
    PENDING = "pending"
    RUNNING = "running"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return str(self.value)
