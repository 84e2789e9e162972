"""What a :class:`~routilux.engine.runtime.Runtime` is configured with: its workers' and thread
pool's sizes, what it keeps in memory, and the server's bounds on what is stored or queued."""

from __future__ import annotations

from dataclasses import dataclass, field

from routilux.engine.bounds import JobLimits
from routilux.engine.replicas import ReplicaRole


@dataclass(frozen=True)
class RuntimeSettings:
    default_concurrency: int = 8
    max_queued_per_worker: int = 10_000
    threads: int = 16
    event_buffer: int = 1000
    finished_jobs_cached: int = 10_000
    # Bytes of the finished jobs kept in memory (inputs and outputs, as JSON); a job bigger
    # than a sixteenth of it is not kept: reads of it come from the store.
    finished_jobs_cached_bytes: int = 64 * 1024 * 1024
    max_output_bytes: int = 16 * 1024 * 1024
    job_limits: JobLimits = field(default_factory=JobLimits)  # bounds on each job's work
    logs_per_job: int = 1000  # lines of routine logging kept per job (the first ones)
    # Counts and bytes of what is stored or queued; None: unbounded (the server sets them all).
    max_queued_input_bytes_per_worker: int | None = None
    max_queued_input_bytes: int | None = None
    max_flows: int | None = None
    max_flow_bytes: int | None = None
    max_breakpoints_per_flow: int | None = None
    max_breakpoints: int | None = None
    # Finished jobs older than this are deleted by the store: the cache forgets them as well.
    job_retention_seconds: float | None = None
    # Replicas (engine/replicas.py): seconds between heartbeats, and without one before a
    # replica is lost and its jobs are taken over.
    replica_heartbeat_seconds: float = 2.0
    replica_lease_seconds: float = 10.0
    # What this process does in the deployment: ``executor`` runs jobs others place on it and
    # serves no API (it never calls ``execute`` itself).
    replica_role: ReplicaRole = ReplicaRole.ALL
