"""Prometheus metrics at ``GET /metrics``, each app with its own ``CollectorRegistry``.

Three sources feed them, each at the cheapest point:

- the gate (``middleware.Gate``) calls :meth:`Metrics.observe_request` once per HTTP request;
- the engine's event bus calls :meth:`Metrics.on_event` for every event (a sink), which counts
  finished jobs and times routines from ``routine.started`` to its end;
- state that already exists (unfinished jobs, worker queues, WebSocket clients) is read when
  Prometheus scrapes, so it costs nothing in between.

The engine knows nothing of this module: the server observes it from outside.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sized
from itertools import accumulate
from typing import Protocol

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from routilux.engine.errors import FlowNotFound
from routilux.engine.events import Event, EventType
from routilux.engine.models import JobStatus
from routilux.engine.runtime import Runtime

UNMATCHED = "unmatched"
_HTTP_BUCKETS = Histogram.DEFAULT_BUCKETS
_go_float: Callable[[float], str] = floatToGoString  # how the library writes ``le``
_HTTP_LE = [_go_float(bound) for bound in _HTTP_BUCKETS]
# As prometheus_client's own metrics: no ``_created`` series with this set.
_CREATED = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "").lower() not in ("true", "1", "t")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNFINISHED = [status.value for status in JobStatus if not status.finished]
_FINISHED = {
    EventType.JOB_COMPLETED: JobStatus.COMPLETED.value,
    EventType.JOB_FAILED: JobStatus.FAILED.value,
    EventType.JOB_CANCELLED: JobStatus.CANCELLED.value,
}
_ROUTINE_ENDS = {
    EventType.ROUTINE_COMPLETED: "completed",
    EventType.ROUTINE_FAILED: "failed",
    EventType.ROUTINE_SKIPPED: "skipped",
}
ROUTINE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)


class WebSocketStats(Protocol):
    """What ``/metrics`` reads from ``app.state.ws_hub``, if the app has one (each part is
    optional: what is missing reads as 0).

    ``len(hub)`` is the number of open WebSocket connections; ``dropped_events`` counts the
    events never delivered because a client read too slowly (monotonic, since the app started).
    """

    dropped_events: int

    def __len__(self) -> int: ...


class Metrics:
    """Every metric of one app, registered in a registry of its own."""

    def __init__(self, ws_hub: Callable[[], object | None] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        self.runtime: Runtime | None = None
        registry = self.registry
        self.http = HttpStats()
        registry.register(self.http)
        self.events = Counter(
            "routilux_events",
            "Engine events published, by type.",
            ["type"],
            registry=registry,
        )
        self.jobs_finished = Counter(
            "routilux_jobs_finished",
            "Jobs that reached a final status, by that status.",
            ["status"],
            registry=registry,
        )
        self.routine_duration = Histogram(
            "routilux_routine_duration_seconds",
            "Time from a routine's start to its end (retries included), by routine type and "
            "outcome (completed, failed, skipped).",
            ["routine_type", "outcome"],
            buckets=ROUTINE_BUCKETS,
            registry=registry,
        )
        registry.register(_LiveState(self, ws_hub))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self._event_counts = {kind: self.events.labels(kind.value) for kind in EventType}
        self._finished_counts = {
            kind: self.jobs_finished.labels(status) for kind, status in _FINISHED.items()
        }
        self._routine_started: dict[str, dict[str, float]] = {}
        self._routine_types: dict[tuple[str, str], str] = {}

    def attach(self, runtime: Runtime) -> None:
        """Observe a started runtime (its bus is the one it keeps from then on)."""
        self.runtime = runtime
        runtime.bus.add_sink(self.on_event)

    # -- HTTP ----------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http.observe(method, route, status, seconds)

    # -- engine events -------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        kind = event.type
        self._event_counts[kind].inc()
        if kind is EventType.ROUTINE_STARTED:
            if event.job_id and event.routine_id:
                running = self._routine_started.setdefault(event.job_id, {})
                running[event.routine_id] = time.perf_counter()
        elif kind in _ROUTINE_ENDS:
            of_job = self._routine_started.get(event.job_id or "")
            started = of_job.pop(event.routine_id or "", None) if of_job else None
            if started is not None and event.flow_id and event.routine_id:
                routine_type = self._routine_type(event.flow_id, event.routine_id)
                self.routine_duration.labels(routine_type, _ROUTINE_ENDS[kind]).observe(
                    time.perf_counter() - started
                )
        elif kind in _FINISHED:
            self._finished_counts[kind].inc()
            # A cancelled or timed-out job leaves its running routines without an end event.
            self._routine_started.pop(event.job_id or "", None)
        elif kind is EventType.FLOW_DELETED:
            # The id may come back with other routines: forget what its routines were.
            self._routine_types = {
                key: value for key, value in self._routine_types.items() if key[0] != event.flow_id
            }

    def _routine_type(self, flow_id: str, routine_id: str) -> str:
        key = (flow_id, routine_id)
        known = self._routine_types.get(key)
        if known is not None:
            return known
        name = "unknown"
        if self.runtime is not None:
            try:
                spec = self.runtime.get_flow(flow_id).spec.routines[routine_id]
                name = self.runtime.registry.canonical_name(spec.class_)
            except (FlowNotFound, KeyError):  # the flow is gone: nothing to label it with
                return name
        self._routine_types[key] = name
        return name

    # -- exposition ----------------------------------------------------------------------------

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Durations:
    """One histogram series: a count per bucket (not cumulative), the sum, when it started."""

    __slots__ = ("counts", "created", "sum")

    def __init__(self) -> None:
        self.counts = [0] * len(_HTTP_BUCKETS)
        self.sum = 0.0
        self.created = time.time()


class HttpStats(Collector):
    """``routilux_http_requests`` (a counter by method, route template and status) and
    ``routilux_http_request_duration_seconds`` (a histogram by method and route template, with
    prometheus_client's default buckets), exposed as prometheus_client's ``Counter`` and
    ``Histogram`` expose them.

    The gate observes every request, so the counts are plain numbers in dictionaries keyed by the
    labels, turned into metric families only when Prometheus scrapes: ``labels()`` lookups and a
    lock per increment (what the library's metrics take, for threads) cost more than the rest of
    an observation. Observations come from the event loop's thread only (the gate).
    """

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], list[float]] = {}  # [count, created]
        self._durations: dict[tuple[str, str], _Durations] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in _METHODS:
            method = "other"
        key = (method, route, status)
        counted = self._requests.get(key)
        if counted is None:
            counted = self._requests[key] = [0, time.time()]
        counted[0] += 1
        durations = self._durations.get(key[:2])
        if durations is None:
            durations = self._durations[key[:2]] = _Durations()
        # The first bucket whose upper bound is at least ``seconds`` (``le``: less or equal).
        durations.counts[bisect_left(_HTTP_BUCKETS, seconds)] += 1
        durations.sum += seconds

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "routilux_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), (count, created) in list(self._requests.items()):
            labels = [method, route, str(status)]
            requests.add_metric(labels, count, created=created if _CREATED else None)
        durations = HistogramMetricFamily(
            "routilux_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            labels=["method", "route"],
        )
        for (method, route), series in list(self._durations.items()):
            cumulative = list(accumulate(series.counts))
            buckets = [(_HTTP_LE[i], float(n)) for i, n in enumerate(cumulative)]
            durations.add_metric([method, route], buckets, series.sum)
            if _CREATED:
                named = {"method": method, "route": route}
                durations.add_sample(durations.name + "_created", named, series.created)
        yield requests
        yield durations


class _LiveState(Collector):
    """Read at scrape time: unfinished jobs, worker queues, WebSocket clients."""

    def __init__(self, metrics: Metrics, ws_hub: Callable[[], object | None]) -> None:
        self._metrics = metrics
        self._ws_hub = ws_hub

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        jobs = GaugeMetricFamily("routilux_jobs", "Unfinished jobs, by status.", labels=["status"])
        queued = GaugeMetricFamily(
            "routilux_worker_queued_jobs",
            "Jobs waiting in a worker's queue.",
            labels=["worker_id", "flow_id"],
        )
        active = GaugeMetricFamily(
            "routilux_worker_active_jobs",
            "Jobs a worker is running (paused ones included).",
            labels=["worker_id", "flow_id"],
        )
        counts = dict.fromkeys(_UNFINISHED, 0)
        runtime = self._metrics.runtime
        if runtime is not None:
            for job in runtime.unfinished_jobs():
                counts[job.status.value] = counts.get(job.status.value, 0) + 1
            for worker in runtime.list_workers():
                if worker.status.value != "stopped":
                    labels = [worker.worker_id, worker.flow_id]
                    queued.add_metric(labels, worker.queued_jobs)
                    active.add_metric(labels, worker.active_jobs)
        for status, count in counts.items():
            jobs.add_metric([status], count)

        hub = self._ws_hub()
        connections = len(hub) if isinstance(hub, Sized) else 0
        dropped = getattr(hub, "dropped_events", 0)
        if not isinstance(dropped, int):
            dropped = 0
        yield jobs
        yield queued
        yield active
        yield GaugeMetricFamily(
            "routilux_websocket_connections", "Open WebSocket connections.", value=connections
        )
        yield CounterMetricFamily(
            "routilux_websocket_dropped_events",
            "Events not delivered to WebSocket clients that read too slowly.",
            value=dropped,
        )


def install(app: FastAPI) -> Metrics:
    """Give the app its metrics (``app.state.metrics``) and the ``GET /metrics`` route."""
    metrics = Metrics(lambda: getattr(app.state, "ws_hub", None))
    app.state.metrics = metrics

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return metrics
