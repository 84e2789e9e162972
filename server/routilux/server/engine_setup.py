"""The store and the runtime a server process runs, built from its settings: the same for an
API server (server/app.py) and an executor (server/executor.py)."""

from __future__ import annotations

from routilux.engine.bounds import JobLimits
from routilux.engine.replicas import ReplicaRole
from routilux.engine.runtime import Runtime
from routilux.engine.runtime_settings import RuntimeSettings
from routilux.routines import default_registry
from routilux.server.settings import Settings
from routilux.store import SqlStore


def build_store(settings: Settings) -> SqlStore:
    """The store, not opened yet."""
    return SqlStore(
        settings.resolved_database_url(),
        sqlite_synchronous=settings.sqlite_synchronous,
        events_per_job=settings.events_per_job,
        events_total=settings.events_total,
        revisions_per_flow=settings.revisions_per_flow,
        job_retention=settings.job_retention_seconds,
        jobs_kept=settings.jobs_kept,
        queued_events=settings.store_queue_events,
        queued_event_bytes=settings.store_queue_event_bytes,
        routine_events_per_job=settings.events_per_job,
        statement_timeout_ms=settings.database_statement_timeout_ms,
    )


def build_runtime(settings: Settings, store: SqlStore) -> Runtime:
    """The runtime over ``store``, not started yet."""
    registry = default_registry(settings.routine_modules)
    return Runtime(
        registry,
        store,
        RuntimeSettings(
            default_concurrency=settings.default_concurrency,
            max_queued_per_worker=settings.max_queued_jobs,
            threads=settings.threads,
            event_buffer=settings.ws_send_buffer,
            max_output_bytes=settings.max_job_output_bytes,
            finished_jobs_cached_bytes=settings.finished_jobs_cache_bytes,
            job_limits=JobLimits(
                max_activations=settings.max_activations_per_job,
                max_backlog=settings.max_job_backlog,
                max_backlog_bytes=settings.max_job_backlog_bytes,
                max_seconds=settings.max_job_seconds,
            ),
            logs_per_job=settings.logs_per_job,
            max_queued_input_bytes_per_worker=settings.max_queued_input_bytes_per_worker,
            max_queued_input_bytes=settings.max_queued_input_bytes,
            max_flows=settings.max_flows,
            max_flow_bytes=settings.max_flow_bytes,
            max_breakpoints_per_flow=settings.max_breakpoints_per_flow,
            max_breakpoints=settings.max_breakpoints,
            # The recent-jobs cache never answers for a job that retention deleted.
            finished_jobs_cached=min(10_000, settings.jobs_kept or 10_000),
            job_retention_seconds=settings.job_retention_seconds or None,
            replica_heartbeat_seconds=settings.replica_heartbeat_seconds,
            replica_lease_seconds=settings.replica_lease_seconds,
            replica_role=ReplicaRole.EXECUTOR if settings.executor_only else ReplicaRole.ALL,
        ),
    )
