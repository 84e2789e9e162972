from enum import StrEnum


class WorkerStatus(StrEnum):
    IDLE = "idle"
    PAUSED = "paused"
    RUNNING = "running"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)
