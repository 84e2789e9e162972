"""A live server for end-to-end tests: ``routilux serve`` in a subprocess on 127.0.0.1 and a free
port, with a fresh database, stopped (and reaped) when the test is done."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

import httpx

from tests.poll import wait_until

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    api_key: str | None = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1)

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class PortTaken(RuntimeError):
    """The server could not bind its port: something took it after ``free_port`` found it free
    (another test's server or a client's ephemeral port)."""


def _wait_ready(server: LiveServer, timeout: float) -> None:
    def ready() -> bool:
        if server.process.poll() is not None:
            log = server.log()
            taken = "address already in use" in log.lower()
            raise (PortTaken if taken else RuntimeError)(f"server exited early:\n{log}")
        try:
            response = httpx.get(f"{server.base_url}/api/v1/health/ready", timeout=1)
        except httpx.TransportError:
            return False
        return response.status_code == 200

    wait_until(ready, timeout=timeout, what=lambda: f"server ready\n{server.log()}")


class ServerOptions(TypedDict, total=False):
    """How ``spawn_server``, ``start_server`` and ``live_server`` start a server."""

    api_key: str | None
    env: dict[str, str] | None
    port: int | None
    log_level: str
    args: list[str]


def spawn_server(
    data_dir: Path,
    *,
    api_key: str | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
    log_level: str = "warning",
    args: list[str] | None = None,
) -> LiveServer:
    """Start ``routilux serve`` (with ``args`` besides); it is not ready yet (``start_server``
    waits for that)."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "routilux",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        log_level,
    ]
    if api_key:
        command += ["--api-key", api_key]
    command += args or []
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROUTILUX_")},
        "PYTHONPATH": str(ROOT / "server"),
        **(env or {}),
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=data_dir
        )
    return LiveServer(f"http://127.0.0.1:{port}", data_dir, process, log_path, api_key)


def _ready(
    server: LiveServer, timeout: float, data_dir: Path, options: ServerOptions
) -> LiveServer:
    """``server`` once it is ready; started again on another free port (twice at most) when its
    port was taken meanwhile and the caller did not choose it. One that fails is stopped."""
    attempt = 1
    while True:
        try:
            _wait_ready(server, timeout=timeout)
            return server
        except PortTaken:
            if options.get("port") or attempt == 3:
                raise
            attempt += 1
            server = spawn_server(data_dir, **options)
        except BaseException:
            stop_server(server)
            raise


def start_server(data_dir: Path, **options: Unpack[ServerOptions]) -> LiveServer:
    return _ready(spawn_server(data_dir, **options), 30, data_dir, options)


def stop_server(server: LiveServer, sig: int = signal.SIGTERM) -> None:
    if server.process.poll() is None:
        server.process.send_signal(sig)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@contextmanager
def live_server(data_dir: Path, **options: Unpack[ServerOptions]) -> Iterator[LiveServer]:
    server = start_server(data_dir, **options)
    try:
        yield server
    finally:
        stop_server(server)


class Servers:
    """Servers started together (``live_servers``), each handed to the test it is for."""

    def __init__(self, servers: dict[str, LiveServer]) -> None:
        self.servers = servers

    @contextmanager
    def use(self, name: str) -> Iterator[LiveServer]:
        """The server ``name``, stopped when the block ends (as ``live_server``'s is)."""
        server = self.servers[name]
        try:
            yield server
        finally:
            stop_server(server)


@contextmanager
def live_servers(root: Path, options: Mapping[str, Mapping[str, Any]]) -> Iterator[Servers]:
    """Servers named by ``options`` (each name's ``start_server`` options), each in its folder
    under ``root``: started at once, so that their start-ups (about 2 s each, mostly imports)
    share both cores, and all ready before the first test runs (idle, none of them loads the
    machine a test measures); those still running are stopped on exit."""
    servers: dict[str, LiveServer] = {}
    try:
        for name, kwargs in options.items():
            servers[name] = spawn_server(root / name, **kwargs)
        for name, server in servers.items():
            # Started together: each gets a share of the CPU.
            servers[name] = _ready(server, 60, root / name, cast(ServerOptions, options[name]))
        yield Servers(servers)
    finally:
        for server in servers.values():
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in servers.values():
            stop_server(server)
