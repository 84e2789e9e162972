from __future__ import annotations

import pytest
from pydantic import ValidationError

from routilux.engine import JobStatus
from routilux.routines import Delay, Identity
from routilux.routines.passthrough import DelayConfig

from .support import activate, build, run_flow


async def test_identity_passes_payload_through() -> None:
    assert await activate(build(Identity, {}), {"x": 1}) == [("output", {"x": 1})]


async def test_delay_is_async_and_passes_payload_through() -> None:
    assert Delay.is_async()
    assert await activate(build(Delay, {"seconds": 0}), {"x": 1}) == [("output", {"x": 1})]


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_delay_seconds_are_bounded(seconds: float) -> None:
    with pytest.raises(ValidationError):
        DelayConfig(seconds=seconds)


async def test_delay_then_identity_in_a_flow() -> None:
    document = """
routines:
  wait: {class: Delay, config: {seconds: 0.01}}
  same: {class: Identity}
connections:
  - {from: wait.output, to: same.input}
"""
    job = await run_flow(document, {"x": 1})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"same.output": [{"x": 1}]}
