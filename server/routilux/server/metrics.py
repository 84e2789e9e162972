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

import time
from collections.abc import Callable, Iterable, Sized
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
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from routilux.engine.errors import FlowNotFound
from routilux.engine.events import Event, EventType
from routilux.engine.models import JobStatus
from routilux.engine.runtime import Runtime

UNMATCHED = "unmatched"
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
        self.http_requests = Counter(
            "routilux_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "routilux_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=registry,
        )
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
        # Label lookups cost more than the increments: keep the children at hand.
        self._http: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
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
        key = (method, route, str(status))
        children = self._http.get(key)
        if children is None:
            if method not in _METHODS:
                method = "other"
            children = (
                self.http_requests.labels(method, route, key[2]),
                self.http_duration.labels(method, route),
            )
            if len(self._http) < 10_000:  # the labels are bounded; this cache is too
                self._http[key] = children
        children[0].inc()
        children[1].observe(seconds)

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
