"""Section 1: API throughput and latency with wrk, for this server, the original Routilux 1.1.0
and a bare Starlette ceiling, on the same uvicorn settings.

Each server runs pinned to CPU 0 and wrk (one thread, 16 connections) to CPU 1. The original is
installed from PyPI into a throwaway virtual environment under the work directory.
"""

from __future__ import annotations

import importlib.metadata
import re
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_common import (
    CLIENT_CPUS,
    Server,
    cpu_seconds,
    log,
    ours,
    pinned,
    pipeline,
    running,
)

ORIGINAL = "routilux[all]==1.1.0"
ENDPOINTS = ("flows", "job")
CONNECTIONS = 16
FLOWS = 10


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    client_cpu: float  # share of one core used by wrk
    server_cpu: float  # share of one core used by the server (all its threads)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency(output: str, pct: str) -> float:
    match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {pct}% latency in wrk output:\n{output}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, server: Server, duration: float, connections: int = CONNECTIONS) -> WrkResult:
    # A short warm-up first (caches, connection setup), then the measured run.
    subprocess.run(
        pinned(["wrk", "-t1", f"-c{connections}", "-d1s", url], CLIENT_CPUS),
        check=True,
        capture_output=True,
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_seconds(server.pid)
    started = time.monotonic()
    done = subprocess.run(
        pinned(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", url],
            CLIENT_CPUS,
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = (cpu_seconds(server.pid) - server_before) / elapsed
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rps is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{out}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if sockets:
        errors += sum(int(g) for g in sockets.groups())
    client = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=_latency(out, "50"),
        p99_ms=_latency(out, "99"),
        requests=int(total.group(1)),
        errors=errors,
        client_cpu=round(client / elapsed, 3),
        server_cpu=round(server_cpu, 3),
    )


def _wait_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.02)
    raise TimeoutError(f"job {job_id} did not finish")


def prepare_ours(server: Server, body_dir: Path) -> str:
    """10 flows and one completed job; their bodies are saved for the ceiling."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for i in range(FLOWS):
            client.post("/api/v1/flows", json=pipeline(f"flow-{i}")).raise_for_status()
        job = client.post(
            "/api/v1/flows/flow-0/execute", json={"data": {"value": 7, "name": "seven"}}
        ).raise_for_status()
        job_id: str = job.json()["job_id"]
        if _wait_job(client, job_id)["status"] != "completed":
            raise RuntimeError("the benchmark job did not complete")
        body_dir.mkdir(parents=True, exist_ok=True)
        (body_dir / "flows.json").write_bytes(client.get("/api/v1/flows").content)
        (body_dir / "job.json").write_bytes(client.get(f"/api/v1/jobs/{job_id}").content)
    return job_id


def _original_flow(i: int) -> dict[str, Any]:
    """The same 3-routine pipeline in Routilux 1.1.0's DSL (its Filter's events differ)."""
    flow_id = f"flow-{i}"
    return {
        "flow_id": flow_id,
        "dsl_dict": {
            "flow_id": flow_id,
            "routines": {
                "shape": {"class": "Mapper", "config": {"mappings": {"value": "value"}}},
                "keep": {"class": "Filter", "config": {"condition": "value"}},
                "label": {"class": "Mapper", "config": {"mappings": {"value": "id"}}},
            },
            "connections": [
                {"from": "shape.output", "to": "keep.input"},
                {"from": "keep.passed", "to": "label.input"},
            ],
        },
    }


def prepare_original(server: Server) -> str | None:
    """10 flows through its API, and a job through its ``POST /api/v1/jobs`` if it takes one."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for i in range(FLOWS):
            client.post("/api/v1/flows", json=_original_flow(i)).raise_for_status()
        response = client.post(
            "/api/v1/jobs",
            json={
                "flow_id": "flow-0",
                "routine_id": "shape",
                "slot_name": "input",
                "data": {"value": 7, "name": "seven"},
            },
        )
        if response.status_code >= 300:
            log(f"original: no job ({response.status_code} {response.text[:200]})")
            return None
        job_id: str = response.json()["job_id"]
        if client.get(f"/api/v1/jobs/{job_id}").status_code != 200:
            return None
        return job_id


def install_original(root: Path) -> str:
    """A throwaway venv with Routilux 1.1.0 and the same uvicorn, httptools and uvloop as ours."""
    venv = root / "original-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    same = [
        f"{name}=={importlib.metadata.version(name)}" for name in ("uvicorn", "httptools", "uvloop")
    ]
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            ORIGINAL,
            *same,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return str(python)


def measure(server: Server, job_id: str | None, duration: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    urls = {"flows": f"{server.base_url}/api/v1/flows"}
    if job_id is not None:
        urls["job"] = f"{server.base_url}/api/v1/jobs/{job_id}"
    for endpoint in ENDPOINTS:
        if endpoint not in urls:
            results[endpoint] = None
            continue
        result = wrk(urls[endpoint], server, duration)
        log(
            f"{server.name} {endpoint}: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms, errors {result.errors}, "
            f"server CPU {result.server_cpu:.0%}, wrk CPU {result.client_cpu:.0%}"
        )
        results[endpoint] = asdict(result)
    return results


def run(workdir: Path, duration: float, *, original: bool = True) -> dict[str, Any]:
    body_dir = workdir / "bodies"
    results: dict[str, Any] = {"connections": CONNECTIONS, "duration_s": duration}
    log("api: this server")
    with ours(workdir, workdir / "ours-api") as server:
        job_id = prepare_ours(server, body_dir)
        results["ours"] = measure(server, job_id, duration)
    if original:
        log("api: installing routilux 1.1.0 into a throwaway venv")
        python = install_original(workdir)
        log("api: the original")
        with running(
            "original",
            ["original"],
            workdir=workdir,
            python=python,
            ready_path="/api/v1/health/live",
        ) as server:
            original_job = prepare_original(server)
            results["original"] = measure(server, original_job, duration)
            results["original_job_endpoint"] = original_job is not None
    log("api: the bare ceiling")
    with running("ceiling", ["ceiling", "--body", str(body_dir)], workdir=workdir) as server:
        results["ceiling"] = measure(server, "any", duration)
    return results
