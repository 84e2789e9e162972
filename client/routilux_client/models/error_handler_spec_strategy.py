from enum import StrEnum


class ErrorHandlerSpecStrategy(StrEnum):
    CONTINUE = "continue"
    RETRY = "retry"
    SKIP = "skip"
    STOP = "stop"

    def __str__(self) -> str:
        return str(self.value)
