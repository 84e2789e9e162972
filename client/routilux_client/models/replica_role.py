from enum import StrEnum


class ReplicaRole(StrEnum):
    ALL = "all"
    EXECUTOR = "executor"

    def __str__(self) -> str:
        return str(self.value)
