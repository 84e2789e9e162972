"""Section 6: failover between two server processes on one PostgreSQL database.

Process A runs a job inside a long ``Delay``; A is stopped cleanly (SIGTERM) or killed
(SIGKILL); the figure is the time from the signal until the job runs on process B
(``GET /api/v1/jobs/{id}`` on B: ``running``, its ``replica_id`` no longer A's, ``recoveries``
1), polled every 10 ms.

A process that dies on the machine of a live one is seen at once (its pid is gone): the job moves
on that one's next heartbeat. One on another machine is seen when its lease runs out. To measure
that here, A runs in a UTS namespace of its own with another host name (``unshare --uts``, which
needs root); without it, A is stopped (SIGSTOP) instead of killed, which is what a hung process
or a lost machine looks like to B, and killed afterwards. Each case runs with the default
heartbeat and lease and with short ones, on a fresh database of a throwaway PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from bench_common import ROOT, Server, log, ours, percentile

SETTINGS = {
    "default": {},  # heartbeat 2 s, lease 10 s
    "short": {"ROUTILUX_REPLICA_HEARTBEAT_SECONDS": "0.5", "ROUTILUX_REPLICA_LEASE_SECONDS": "2"},
}
DELAYED = {
    "flow_id": "delayed",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 600}},
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}
CASES = {
    "sigterm": "A stopped cleanly (SIGTERM): it leaves once its checkpoints are committed",
    "same_host": "A killed (SIGKILL) on B's machine: its pid is gone",
    "other_host": "A killed (SIGKILL) under another host name: the lease runs out",
    "hung": "A stopped (SIGSTOP), as a hung process or a lost machine: the lease runs out",
}
POLL_S = 0.01
# Runs A under another host name and execs the interpreter, so that A's pid is the one killed.
OTHER_HOST = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', "bench-other-host"]


def _other_host_available() -> bool:
    try:
        probe = subprocess.run([*OTHER_HOST, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _job(server: Server, job_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/api/v1/jobs/{job_id}", timeout=5)
    result: dict[str, Any] = response.raise_for_status().json()
    return result


def _wait_for(server: Server, job_id: str, done: Any, timeout: float, what: str) -> float:
    """Poll ``server`` for the job until ``done(job)``; the monotonic time it held."""
    deadline = time.monotonic() + timeout
    while True:
        job = _job(server, job_id)
        if done(job):
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout} s; the job: {job}")
        time.sleep(POLL_S)


def _end(a: Server, how: str) -> None:
    """End process A as ``how`` says (see :data:`CASES`)."""
    if how == "sigterm":
        a.process.send_signal(signal.SIGTERM)
    elif how == "hung":
        os.kill(a.pid, signal.SIGSTOP)
    else:
        os.kill(a.pid, signal.SIGKILL)
        # Reaped at once, as its parent (systemd, a shell) would: a zombie's pid still exists,
        # so B would wait for the lease instead.
        a.process.wait(timeout=10)


def _once(workdir: Path, url: str, env: dict[str, str], how: str) -> float:
    """One failover: seconds from A's end (see :data:`CASES`) to the job running on B."""
    env = {"ROUTILUX_DATABASE_URL": url, **env}
    launcher = OTHER_HOST if how == "other_host" else []
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(ours(workdir, workdir / "a", env=env, launcher=launcher))
        httpx.post(f"{a.base_url}/api/v1/flows", json=DELAYED, timeout=10).raise_for_status()
        b = stack.enter_context(ours(workdir, workdir / "b", env=env))
        execute = f"{a.base_url}/api/v1/flows/delayed/execute"
        response = httpx.post(execute, json={"data": {"n": 1}}, timeout=10)
        job_id = response.raise_for_status().json()["job_id"]
        # A runs the job inside the Delay; B reads it from the database (a stored job's row
        # says who runs it, its progress is in the checkpoints), so it is committed.
        owner: dict[str, str] = {}

        def in_delay(job: dict[str, Any]) -> bool:
            owner["a"] = job["replica_id"]
            return bool(job["progress"]["wait"]["activations"])

        _wait_for(a, job_id, in_delay, 30, "the job inside the Delay on A")
        _wait_for(b, job_id, lambda job: job["replica_id"] == owner["a"], 30, "the job on A")
        time.sleep(0.5)  # its checkpoint (the Delay running) committed too
        ended = time.monotonic()
        _end(a, how)
        try:

            def on_b(job: dict[str, Any]) -> bool:
                moved = job["replica_id"] not in (None, owner["a"])
                return bool(moved and job["status"] == "running" and job["recoveries"] >= 1)

            lease = float(env.get("ROUTILUX_REPLICA_LEASE_SECONDS", 10))
            running = _wait_for(b, job_id, on_b, lease + 15, "the job running on B")
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                a.process.wait(timeout=20 if how == "sigterm" else 0.1)
            if a.process.poll() is None:
                a.process.kill()  # SIGKILL ends a stopped process too
                a.process.wait(timeout=10)
    return running - ended


def run(workdir: Path, repeats: int = 3) -> dict[str, Any]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the tests' throwaway PostgreSQL (tests/pg.py)
    from tests.pg import throwaway_server

    cases = ["sigterm", "same_host", "other_host" if _other_host_available() else "hung"]
    result: dict[str, Any] = {"repeats": repeats, "settings": SETTINGS, "cases": {}}
    with throwaway_server() as pg:
        for case in cases:
            for name, env in SETTINGS.items():
                seconds = []
                for n in range(repeats):
                    folder = workdir / f"failover-{case}-{name}-{n}"
                    seconds.append(_once(folder, pg.url(pg.create_database()), env, case))
                    log(f"failover ({case}, {name}): {seconds[-1]:.2f} s")
                result["cases"].setdefault(case, {})[name] = {
                    "seconds": [round(s, 3) for s in seconds],
                    "median_s": round(percentile(seconds, 50), 3),
                }
    return result
