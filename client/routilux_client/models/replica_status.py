from enum import StrEnum


class ReplicaStatus(StrEnum):
    ALIVE = "alive"
    LOST = "lost"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)
