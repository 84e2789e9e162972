"""``scripts/bench``: run every benchmark section and write ``results.json`` and ``results.md``.

    scripts/bench [--out artifacts/bench] [--only api,jobs,engine,fanout,scale,failover] [--quick]

Sections: 1 ``api`` (wrk against this server, Routilux 1.1.0 and a bare Starlette ceiling),
2 ``jobs`` (2,000 jobs end to end over HTTP, on SQLite, PostgreSQL, and two processes sharing
PostgreSQL), 3 ``engine`` (events routed in process), 4 ``fanout`` (10 WebSocket subscribers of
one busy flow), 5 ``scale`` (list_jobs over 100,000 jobs), 6 ``failover`` (a job moving to
another process when its own is killed). Everything listens on 127.0.0.1 and stops by itself;
``--quick`` shortens every section (for trying the script, not for figures).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_api
import bench_engine
import bench_failover
import bench_fanout
import bench_jobs
import bench_scale
from bench_common import CLIENT_CPUS, ROOT, SERVER_CPUS, load_average, log, machine

SECTIONS = ("api", "jobs", "engine", "fanout", "scale", "failover")


def _run_sections(only: list[str], workdir: Path, quick: bool) -> dict[str, Any]:
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "api": lambda: bench_api.run(workdir, duration=3 if quick else 10),
        "jobs": lambda: bench_jobs.run(workdir, jobs=300 if quick else 2000),
        "engine": lambda: bench_engine.run(
            jobs=2000 if quick else 20_000, items=5000 if quick else 50_000
        ),
        "fanout": lambda: bench_fanout.run(workdir, seconds=2 if quick else 5),
        "scale": lambda: bench_scale.run(
            workdir, count=10_000 if quick else 100_000, requests=50 if quick else 300
        ),
        "failover": lambda: bench_failover.run(workdir, repeats=1 if quick else 3),
    }
    results: dict[str, Any] = {}
    for name in only:
        load = load_average()
        started = time.monotonic()
        try:
            section = runners[name]()
        except Exception as exc:  # one failed section must not lose the others
            log(f"{name}: FAILED: {exc!r}")
            section = {"error": repr(exc)}
        section["seconds"] = round(time.monotonic() - started, 1)
        section["load_average_before"] = round(load, 2)
        results[name] = section
    return results


# -- the Markdown report ------------------------------------------------------------------------


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if digits == 0:
        return f"{round(value):,}"
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "—"
    return f"{a / b:.2f}x"


def _api(r: dict[str, Any]) -> list[str]:
    lines = [
        f"wrk, one thread, {r['connections']} connections, {r['duration_s']:g} s per run after a "
        f"1 s warm-up; servers pinned to CPU {SERVER_CPUS}, wrk to CPU {CLIENT_CPUS}.",
        "",
        "| endpoint | server | req/s | p50 ms | p99 ms | server CPU | wrk CPU | ours ÷ this |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    names = {
        "ours": "this server",
        "original": "Routilux 1.1.0 (PyPI)",
        "ceiling": "bare Starlette (ceiling)",
    }
    paths = {"flows": "`GET /api/v1/flows` (10 flows)", "job": "`GET /api/v1/jobs/{id}`"}
    for endpoint, label in paths.items():
        mine = (r.get("ours") or {}).get(endpoint) or {}
        for key, name in names.items():
            if key not in r:
                continue
            row = (r.get(key) or {}).get(endpoint)
            if row is None:
                lines.append(
                    f"| {label} | {name} | cannot be measured: no job | — | — | — | — | — |"
                )
                continue
            ratio = "—" if key == "ours" else _ratio(mine.get("rps"), row["rps"])
            errors = f" ({row['errors']} errors)" if row.get("errors") else ""
            lines.append(
                f"| {label} | {name} | {_num(row['rps'])}{errors} | {_num(row['p50_ms'], 2)} | "
                f"{_num(row['p99_ms'], 2)} | {row['server_cpu']:.0%} | {row['client_cpu']:.0%} | "
                f"{ratio} |"
            )
    return lines


def _jobs(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['jobs']:,} jobs of Mapper → Filter → Mapper, {r['clients']} concurrent httpx clients, "
        f"each waiting for its job to finish (seen on the {r['completion_seen_by']}) before "
        "submitting the next. Two processes: both pinned to the one core a single server gets "
        "(the clients have the other; PostgreSQL floats over both), the clients spread "
        "round-robin over their ports, the flow created on the first before the second starts. "
        "Server CPU: share of one core (both processes summed) and ms per job; PostgreSQL's "
        "processes (a throwaway server with fsync off) share the same two cores.",
        "",
        "| server | jobs/s | p50 ms | p99 ms | max ms | outcomes | server CPU | server CPU "
        "ms/job | PostgreSQL CPU ms/job | clients' CPU |",
        "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|",
        *_jobs_row("this server, SQLite", r),
        *_jobs_row("this server, PostgreSQL", r.get("postgresql")),
        *_jobs_row("this server, 2 processes, one PostgreSQL", r.get("postgresql_two")),
        "| Routilux 1.1.0 | not measurable | — | — | — | its jobs never finish by themselves: "
        "they stay `running` until a client calls `POST /jobs/{id}/complete` | — | — | — | — |",
    ]


def _jobs_row(label: str, r: dict[str, Any] | None) -> list[str]:
    if r is None:
        return []
    if "error" in r:
        return [f"| {label} | failed: {r['error'][:120]} | — | — | — | — | — | — | — | — |"]
    return [
        f"| {label} | {_num(r['jobs_per_s'], 1)} | {_num(r['p50_ms'], 2)} | "
        f"{_num(r['p99_ms'], 2)} | {_num(r['max_ms'], 2)} | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(r['statuses'].items()))} | "
        f"{r.get('server_cpu', 0):.0%} | {_num(r.get('server_cpu_ms_per_job'), 2)} | "
        f"{_num(r.get('database_cpu_ms_per_job'), 2)} | {r.get('client_cpu', 0):.0%} |"
    ]


def _engine(r: dict[str, Any]) -> list[str]:
    many, stream = r["jobs"], r["stream"]
    return [
        "In process, a `Runtime` with its `MemoryStore`: no HTTP, no database. 5 routines; an "
        "event routed is one emitted payload delivered to the next routine or to the output.",
        "",
        "| shape | events routed | seconds | events/s |",
        "|---|--:|--:|--:|",
        f"| {many['jobs']:,} one-payload jobs (Mapper → Filter → Mapper → Identity → Mapper) | "
        f"{many['events_routed']:,} | {many['elapsed_s']} | {_num(many['events_per_s'])} |",
        f"| one job, {stream['items']:,} items (Splitter → Filter → Mapper → Identity → Mapper) | "
        f"{stream['events_routed']:,} | {stream['elapsed_s']} | {_num(stream['events_per_s'])} |",
    ]


def _fanout(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['subscribers']} subscribers of `/api/v1/ws/events?flow_id=busy`; {r['jobs']:,} jobs "
        f"submitted at {r['job_rate_per_s']:g}/s; delay = receipt time - event `timestamp`.",
        "",
        "| events per subscriber | delivered | delivered/s | p50 delay ms | p99 delay ms | "
        "max ms | lost | duplicated | out of order | server CPU | clients' CPU |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {r['events_per_subscriber']:,} | {r['delivered_events']:,} | "
        f"{_num(r['delivered_per_s'])} | {_num(r['p50_delay_ms'], 2)} | "
        f"{_num(r['p99_delay_ms'], 2)} | {_num(r['max_delay_ms'], 2)} | {r['lost']} | "
        f"{r['duplicated']} | {r['out_of_order']} | {r.get('server_cpu', 0):.0%} | "
        f"{r.get('client_cpu', 0):.0%} |",
    ]


def _scale(r: dict[str, Any]) -> list[str]:
    labels = {
        "first_page": "first page",
        "first_page_status": "first page, `status=failed`",
        "deep_page": "page 90% down (cursor)",
        "deep_page_status": "page 90% down, `status=failed`",
    }
    lines = [
        f"`GET /api/v1/jobs?limit=50` over {r['jobs']:,} stored jobs (written in "
        f"{r['prepare_s']} s), one client, sequential requests.",
        "",
        "| query | items | p50 ms | p99 ms |",
        "|---|--:|--:|--:|",
    ]
    for key, label in labels.items():
        row = r[key]
        lines.append(
            f"| {label} | {row['items']} | {_num(row['p50_ms'], 2)} | {_num(row['p99_ms'], 2)} |"
        )
    return lines


def _failover(r: dict[str, Any]) -> list[str]:
    short = r["settings"]["short"]
    lines = [
        "Two processes on one PostgreSQL database; a job of process A inside a 600 s `Delay`; "
        "seconds from the signal to A to the job `running` on B (`replica_id` B's, `recoveries` "
        f"1), polled every 10 ms; {r['repeats']} run(s) each, median (every run).",
        "",
        "| how A ends | heartbeat 2 s, lease 10 s (defaults) | "
        f"heartbeat {short['ROUTILUX_REPLICA_HEARTBEAT_SECONDS']} s, "
        f"lease {short['ROUTILUX_REPLICA_LEASE_SECONDS']} s |",
        "|---|--:|--:|",
    ]
    for case, runs in r["cases"].items():
        cells = []
        for name in ("default", "short"):
            every = ", ".join(f"{s:.2f}" for s in runs[name]["seconds"])
            cells.append(f"{runs[name]['median_s']:.2f} s ({every})")
        lines.append(f"| {bench_failover.CASES[case]} | {cells[0]} | {cells[1]} |")
    return lines


def _targets(results: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, str, str, bool | None]] = []
    api = results.get("api", {})
    if "ours" in api:
        for endpoint, label in (("flows", "GET /flows"), ("job", "GET /jobs/{id}")):
            mine = (api.get("ours") or {}).get(endpoint) or {}
            original = (api.get("original") or {}).get(endpoint)
            ceiling = (api.get("ceiling") or {}).get(endpoint)
            if original:
                x = mine.get("rps", 0) / original["rps"]
                rows.append((f"1. {label} ≥ 2x the original", f"{x:.2f}x", "", x >= 2))
            if ceiling:
                x = mine.get("rps", 0) / ceiling["rps"]
                rows.append((f"1. {label} ≥ 50% of the ceiling", f"{x:.0%}", "", x >= 0.5))
    jobs = results.get("jobs", {})
    if "jobs_per_s" in jobs:
        ok = jobs["jobs_per_s"] >= 500 and jobs["p99_ms"] < 200
        measured = f"{jobs['jobs_per_s']:,.0f} jobs/s, p99 {jobs['p99_ms']:.1f} ms"
        rows.append(("2. ≥ 500 jobs/s, p99 < 200 ms", measured, "", ok))
    engine = results.get("engine", {})
    for shape, label in (("stream", "payloads streamed through it"), ("jobs", "a job per payload")):
        if shape in engine:
            rate = engine[shape]["events_per_s"]
            target = f"3. ≥ 50,000 events/s, {label}"
            rows.append((target, f"{rate:,} events/s", "", rate >= 50_000))
    fanout = results.get("fanout", {})
    if "p99_delay_ms" in fanout:
        ok = fanout["p99_delay_ms"] < 50 and fanout["lost"] == 0
        measured = f"p99 {fanout['p99_delay_ms']:.1f} ms, {fanout['lost']} lost"
        rows.append(("4. p99 delay < 50 ms, none lost", measured, "", ok))
    scale = results.get("scale", {})
    if "first_page" in scale:
        worst = max(scale[k]["p99_ms"] for k in scale if isinstance(scale[k], dict))
        rows.append(
            ("5. list_jobs p99 < 30 ms at any depth", f"worst p99 {worst:.1f} ms", "", worst < 30)
        )
    lines = ["| target | measured | holds |", "|---|---|:-:|"]
    for target, measured, _, ok in rows:
        lines.append(f"| {target} | {measured} | {'yes' if ok else '**no**'} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    results = report["results"]
    out = [
        "# Benchmark results",
        "",
        f"`scripts/bench` on {report['finished_at']}, {report['seconds']:.0f} s in all. Machine: "
        f"{m['nproc']} x {m['cpu_model']}, Python {m['python']}, {m['platform']}.",
        "",
        "## Targets",
        "",
        *_targets(results),
    ]
    titles = {
        "api": ("1. API throughput and latency", _api),
        "jobs": ("2. Jobs end to end", _jobs),
        "engine": ("3. Engine alone", _engine),
        "fanout": ("4. Event fan-out", _fanout),
        "scale": ("5. list_jobs at scale", _scale),
        "failover": ("6. Failover between processes", _failover),
    }
    for name, (title, render) in titles.items():
        if name not in results:
            continue
        section = results[name]
        out += ["", f"## {title}", ""]
        if "error" in section:
            out.append(f"Failed: `{section['error']}`")
        else:
            out += render(section)
        out += [
            "",
            f"<sub>{section['seconds']} s; load average before: "
            f"{section['load_average_before']}</sub>",
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--quick", action="store_true", help="short runs, to try the script")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="routilux-bench-"))
    log(f"work directory {workdir}")
    try:
        results = _run_sections(only, workdir, args.quick)
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.monotonic() - started, 1),
        "quick": args.quick,
        "machine": machine(),
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(report))
    log(f"wrote {args.out / 'results.md'} and results.json in {report['seconds']:.0f} s")
    print(markdown(report))


if __name__ == "__main__":
    main()
