"""Server settings: the only place that reads the environment (prefix ``ROUTILUX_``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def is_loopback(host: str, names: Collection[str] = ("localhost",)) -> bool:
    """A loopback address (``127.0.0.0/8``, ``::1``, IPv4-mapped too), or one of ``names``."""
    bare = host.strip().lower()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return bare in names
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback  # a dual-stack socket's IPv4 connection
    return ip.is_loopback


class Settings(BaseSettings):
    """Everything an operator can configure; each field is also ``ROUTILUX_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ROUTILUX_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Field(Path("data"), description="Where the embedded SQLite database lives.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; defaults to a SQLite file in data_dir."
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    database_statement_timeout_ms: int = Field(
        30_000,
        ge=100,
        le=3_600_000,
        description="PostgreSQL: a statement running longer is cancelled by the server.",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Accepted API keys, comma-separated in the environment. None: auth is off, "
        "and the server only listens on loopback.",
    )
    routine_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Modules whose Routine classes are registered."
    )
    default_concurrency: int = Field(8, ge=1, le=256, description="Jobs a worker runs at once.")
    max_queued_jobs: int = Field(10_000, ge=1, description="Queued jobs per worker before 429.")
    threads: int = Field(16, ge=1, le=256, description="Threads for blocking routine logic.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body (413).")
    max_job_input_bytes: int = Field(
        262_144, ge=64, description="Largest job input (data and metadata together), as JSON."
    )
    max_json_depth: int = Field(
        64, ge=2, le=200, description="Nesting of objects and arrays in a request body (422)."
    )
    max_json_values: int = Field(
        20_000, ge=100, description="Values and keys in a request body (422)."
    )
    max_job_output_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest job output, as JSON (the job fails)."
    )
    max_activations_per_job: int = Field(
        50_000,
        ge=1,
        description="Routine activations one job may start; beyond, it fails with "
        "`too_many_activations`.",
    )
    max_job_backlog: int = Field(
        100_000,
        ge=1,
        description="Deliveries queued in one job, not yet taken by a routine; beyond, it fails "
        "with `job_backlog_exceeded`.",
    )
    max_job_backlog_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        description="Estimated bytes of those deliveries; beyond, it fails with "
        "`job_backlog_exceeded`.",
    )
    max_job_seconds: float = Field(
        3600,
        gt=0,
        le=86_400,
        description="Wall time of a job; a flow's `execution.timeout` may lower it (a higher one "
        "is a 422); beyond, it fails with `job_timeout`.",
    )
    finished_jobs_cache_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes of finished jobs (inputs and outputs, as JSON) kept in memory for "
        "fast reads; the rest are read from the database.",
    )
    store_queue_events: int = Field(
        50_000,
        ge=1000,
        description="Events waiting to be written to the database; beyond, routine-level "
        "events are left out of the stored history (job, flow and worker events never are).",
    )
    store_queue_event_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes of event data and log lines (as JSON) waiting to be written; beyond, "
        "routine-level events and log lines are left out as when the count is reached.",
    )
    max_routines_per_flow: int = Field(200, ge=1, le=200, description="Routines in one flow.")
    max_connections_per_flow: int = Field(
        1000, ge=0, le=1000, description="Connections in one flow."
    )
    rate_limit_per_second: float = Field(
        0, ge=0, description="Requests per second per API key (or client); 0 turns it off."
    )
    rate_limit_burst: int = Field(200, ge=1)
    max_queued_input_bytes_per_worker: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        description="Input bytes (JSON) of one worker's queued jobs before execute is 429.",
    )
    max_queued_input_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Input bytes (JSON) of all queued jobs before execute is 429.",
    )
    max_flows: int = Field(10_000, ge=1, description="Flows stored at once (409 beyond).")
    max_flow_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Flow documents' bytes (JSON) stored at once (409 beyond).",
    )
    max_breakpoints_per_flow: int = Field(100, ge=1, description="Breakpoints on one flow.")
    max_breakpoints: int = Field(10_000, ge=1, description="Breakpoints in all.")
    job_retention_seconds: float = Field(
        7 * 86_400,
        ge=0,
        description="Finished jobs (with their outputs and events) are deleted this long after "
        "they finish; 0 keeps them by age.",
    )
    jobs_kept: int = Field(
        100_000, ge=0, description="Finished jobs kept at most, newest first; 0: no count limit."
    )
    events_per_job: int = Field(10_000, ge=10, description="Events kept per job.")
    events_total: int = Field(1_000_000, ge=100, description="Events kept in all.")
    revisions_per_flow: int = Field(
        100,
        ge=1,
        description="Revisions of one flow kept (the current one included); older ones go.",
    )
    logs_per_job: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Lines of routine logging kept per job (its first ones; a last line says how "
        "many more were dropped).",
    )
    ws_max_connections: int = Field(1000, ge=1)
    ws_send_buffer: int = Field(1000, ge=10, description="Events queued per WebSocket client.")
    ws_max_connections_per_key: int = Field(
        100, ge=1, description="WebSocket clients per API key (or client address): 1013 beyond."
    )
    ws_messages_per_second: int = Field(
        20, ge=1, description="Messages one WebSocket client may send a second: 1008 beyond."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="With keys unset, Host (and Origin) values accepted besides loopback "
        "(localhost, 127.0.0.1, [::1], any port); comma-separated. Others: 421.",
    )
    max_header_bytes: int = Field(
        32_768, ge=1024, description="Request line and headers of one request (431 beyond)."
    )
    header_timeout: float = Field(
        10, gt=0, description="Seconds a client has to send a request's headers (408 beyond)."
    )
    body_timeout: float = Field(
        60, gt=0, description="Seconds a client has to send a request's body (408 beyond)."
    )
    max_connections: int = Field(
        4096, ge=1, description="Open connections in all (HTTP and WebSocket): 503 beyond."
    )
    max_connections_per_client: int = Field(
        256, ge=1, description="Open connections from one client address: 503 beyond."
    )
    replica_heartbeat_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="Seconds between a server process's heartbeats in the database.",
    )
    replica_lease_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds without a heartbeat before a process is lost and its unfinished "
        "jobs are taken over by another one (PostgreSQL; must exceed the heartbeat).",
    )
    executor_only: bool = Field(
        False,
        description="Run as an executor: join the deployment's replicas, execute the jobs placed "
        "on this process, serve no HTTP API (`routilux serve --executor-only`; PostgreSQL only).",
    )
    log_level: str = "info"
    log_json: bool = False
    lean_routes: bool = Field(
        True,
        description="Serve the busiest reads with the lean request handler (server/lean.py); "
        "off: FastAPI's own, for comparison. The answers are the same.",
    )
    telemetry: Literal["auto", "on", "off"] = Field(
        "auto",
        description="FastAPI's OpenTelemetry spans, metrics and logs of each request. auto: on "
        "when an OTEL_ environment variable configures OpenTelemetry as the app is built, "
        "otherwise off (and FastAPI's look for a provider on every request skipped).",
    )

    @field_validator("api_keys", "routine_modules", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _lease_after_heartbeats(self) -> Self:
        if self.replica_lease_seconds <= self.replica_heartbeat_seconds:
            raise PydanticCustomError(
                "lease_too_short",
                "ROUTILUX_REPLICA_LEASE_SECONDS ({lease}) must be longer than "
                "ROUTILUX_REPLICA_HEARTBEAT_SECONDS ({heartbeat}): a live process would be "
                "taken for lost between two heartbeats",
                {"lease": self.replica_lease_seconds, "heartbeat": self.replica_heartbeat_seconds},
            )
        return self

    @model_validator(mode="after")
    def _keys_off_loopback(self) -> Self:
        # The gate enforces the same rule per connection, whatever binds the socket.
        if not self.api_keys and not is_loopback(self.host):
            raise PydanticCustomError(
                "api_keys_required",
                "refusing to listen on {host} without an API key: anyone who can reach it "
                "could run flows. Set ROUTILUX_API_KEYS=<key>[,<key>...] or pass --api-key, or "
                "listen on 127.0.0.1.",
                {"host": self.host},
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'routilux.db').resolve()}"
