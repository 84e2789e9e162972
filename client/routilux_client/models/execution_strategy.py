from enum import StrEnum


class ExecutionStrategy(StrEnum):
    CONCURRENT = "concurrent"
    SEQUENTIAL = "sequential"

    def __str__(self) -> str:
        return str(self.value)
