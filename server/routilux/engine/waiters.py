"""Who waits for which job to settle (finish, or pause): ``GET /jobs/{id}?wait=``.

A bus sink wakes them: one dictionary lookup per event while someone waits, none otherwise.
"""

from __future__ import annotations

import asyncio

from routilux.engine.events import Event, EventType
from routilux.engine.models import JobStatus

SETTLED = frozenset({JobStatus.PAUSED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
SETTLING_EVENTS = frozenset(
    {EventType.JOB_PAUSED, EventType.JOB_COMPLETED, EventType.JOB_FAILED, EventType.JOB_CANCELLED}
)


class SettleWaiters:
    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Event]] = {}

    def __len__(self) -> int:
        """Jobs someone waits for."""
        return len(self._waiters)

    async def wait(self, job_id: str, timeout: float) -> None:
        """Until the job settles, or ``timeout`` seconds have passed."""
        waiter = asyncio.Event()
        waiters = self._waiters.setdefault(job_id, [])
        waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.wait()
        except TimeoutError:
            pass
        finally:
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters and self._waiters.get(job_id) is waiters:
                del self._waiters[job_id]

    def wake(self, event: Event) -> None:
        """A bus sink."""
        if self._waiters and event.type in SETTLING_EVENTS and event.job_id in self._waiters:
            for waiter in self._waiters.pop(event.job_id):
                waiter.set()
