"""The job log capture handler on its own: what it keeps, and that it never fails the caller."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from routilux.engine import logcontext
from routilux.engine.joblogs import MAX_MESSAGE_CHARS, JobLog, JobLogCapture, level_name


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.joblogs.unit")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    logger.handlers.clear()
    logger.propagate = True


def test_lines_of_owned_jobs_are_kept_with_their_place(logger: logging.Logger) -> None:
    kept: list[JobLog] = []
    capture = JobLogCapture(kept.append, per_job=2, owns=lambda job_id: job_id == "mine")
    logger.addHandler(capture)
    logger.info("outside any routine")
    token = logcontext.current.set(("f", "theirs", "r"))
    logger.info("another runtime's job")
    logcontext.current.reset(token)
    token = logcontext.current.set(("f", "mine", "r"))
    activation = logcontext.activation.set((3, 2))
    try:
        logger.info("one %s", "x" * MAX_MESSAGE_CHARS)
        logger.warning("two")
        logger.error("three")  # beyond per_job: counted
    finally:
        logcontext.activation.reset(activation)
        logcontext.current.reset(token)
    capture.finish("mine", "f")
    assert [(x.routine_id, x.activation, x.attempt, x.level) for x in kept[:2]] == [
        ("r", 3, 2, "info"),
        ("r", 3, 2, "warning"),
    ]
    assert kept[0].message.endswith("… (4 more characters)")
    assert kept[2].message == "1 more log line was dropped: a job keeps its first 2"
    assert kept[0].id < kept[1].id < kept[2].id


def test_a_failing_store_never_fails_the_routine(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(line: JobLog) -> None:
        raise RuntimeError("store closed")

    monkeypatch.setattr(logging, "raiseExceptions", False)  # handleError stays quiet
    logger.addHandler(JobLogCapture(broken, per_job=10, owns=lambda job_id: True))
    token = logcontext.current.set(("f", "job", "r"))
    try:
        logger.info("kept nowhere, and no exception")
    finally:
        logcontext.current.reset(token)


def test_level_names() -> None:
    assert [level_name(n) for n in (5, 10, 25, 30, 45, 50, 60)] == [
        "debug",
        "debug",
        "info",
        "warning",
        "error",
        "critical",
        "critical",
    ]
