"""Shared pieces of ``scripts/bench``: servers in subprocesses, percentiles, CPU accounting.

Every server is started on 127.0.0.1 with a free port, optionally pinned to some CPUs with
``taskset``, and always stopped (SIGTERM, then SIGKILL) by :func:`running`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
SERVE = SCRIPTS / "bench_serve.py"
# This checkout's server package, whether or not it is installed into the environment;
# BENCH_SERVER_SOURCE names another folder holding a ``routilux`` package (to compare versions).
SERVER_SOURCE = Path(os.environ.get("BENCH_SERVER_SOURCE") or ROOT / "server").resolve()
if str(SERVER_SOURCE) not in sys.path:
    sys.path.insert(0, str(SERVER_SOURCE))

# CPU placement on the two-core machine: every server on CPU 0, every load generator on CPU 1,
# so that neither steals the other's core and all three servers get the same share.
SERVER_CPUS = "0"
CLIENT_CPUS = "1"

# The 3-routine flow of the benchmarks, in this server's DSL.
PIPELINE: dict[str, Any] = {
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"value": "value", "name": "name"}}},
        "keep": {"class": "Filter", "config": {"condition": "data.value >= 0"}},
        "label": {"class": "Mapper", "config": {"mappings": {"id": "value", "label": "name"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "keep.input"},
        {"from": "keep.passed", "to": "label.input"},
    ],
}


def pipeline(flow_id: str, **execution: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"flow_id": flow_id, **PIPELINE}
    if execution:
        document["execution"] = execution
    return document


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process, of its children now alive and of those it has reaped (what a
    PostgreSQL server and its backends used so far); 0 if it is gone."""
    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                own = child.cpu_times()
                total += own.user + own.system
    except psutil.NoSuchProcess:
        return 0.0
    return total


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def pinned(command: list[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus else command


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    name: str,
    args: list[str],
    *,
    workdir: Path,
    python: str = sys.executable,
    ready_path: str = "/api/v1/health/ready",
    env: dict[str, str] | None = None,
    cpus: str | None = SERVER_CPUS,
    timeout: float = 60.0,
    launcher: Sequence[str] = (),
) -> Server:
    """Start ``bench_serve.py <args>`` under ``python`` and wait until ``ready_path`` answers.
    ``launcher`` comes before the interpreter and must exec it (the pid stays the server's)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}-{port}.log"
    command = pinned([*launcher, python, str(SERVE), *args, "--port", str(port)], cpus)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTILUX_")}
    full_env.pop("PYTHONPATH", None)
    full_env.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=workdir
        )
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{server.log()[-4000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(server.base_url + ready_path, timeout=2).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout} s:\n{server.log()[-4000:]}")
            time.sleep(0.1)
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@contextlib.contextmanager
def running(name: str, args: list[str], **kwargs: Any) -> Iterator[Server]:
    server = start_server(name, args, **kwargs)
    try:
        yield server
    finally:
        stop_server(server)


def ours(workdir: Path, data_dir: Path, **kwargs: Any) -> contextlib.AbstractContextManager[Server]:
    """This server (this checkout's source), on a database in ``data_dir``."""
    env = {"PYTHONPATH": str(SERVER_SOURCE), **kwargs.pop("env", {})}
    args = ["ours", "--data-dir", str(data_dir)]
    return running("ours", args, workdir=workdir, env=env, **kwargs)


@contextlib.contextmanager
def on_cpus(cpus: str) -> Iterator[None]:
    """Pin this process (the Python load generators) to ``cpus`` for the duration."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def load_average() -> float:
    return os.getloadavg()[0]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
