"""Settings of the Python interpreter for a long-running host of the engine: the garbage
collector's thresholds and the thread switch interval (the server applies them at start-up)."""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (50_000, 20, 100)
"""The engine allocates many short-lived objects per activation (events, payload copies,
activation records, checkpoint deliveries); with the default thresholds (700, 10, 10) the collector
ran so often that it took a third of an engine's time in the benchmarks. A young collection costs
what is alive in the young generation when it runs (the state of the jobs in flight, not the
garbage already freed), so it is made rare: every 50,000 allocations (at 10,000 the engine
section's one-payload jobs spent 2.2-2.8 s of 15-17 s in the collector, at 50,000 1.1-1.3 s, for
the same peak memory). The middle generation is collected every 20 young collections rather than
50, so that it never grows large: its pauses were the longest (300-450 ms with 50, 170-180 ms
with 20, in the same runs). Full collections stay much rarer than by default."""


SWITCH_INTERVAL = 0.0001
"""Seconds a thread that wants the GIL waits before the running one must hand it over (Python's
default: 0.005). The store's writer thread releases the GIL around every statement it runs, so
while the event loop is busy (a runaway job, a burst of jobs) each of those statements cost it up
to a whole interval to get the GIL back: hundreds of rows took seconds, and every execute and
every job's final state, which wait for the writer, waited with it."""


def prepare_process() -> None:
    """Freeze what exists now (modules, app, schemas: they live as long as the process) out of
    the collector's sight, and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
