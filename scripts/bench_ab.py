"""An A/B of section 2's job rate (SQLite) between another checkout and this one.

Both servers run at once, each from its own tree's source and started by its own tree's bench
scripts, pinned to the servers' CPU; the clients drive them in turn, in short rounds, A then B,
then B then A, and so on. The machine's speed drifts (other tenants, frequency changes) by more
than the differences worth measuring, and rounds this short see the same drift on both sides:
the figure is the median of the per-round ratios B/A, with the CPU time per job of each.

Usage: ``.venv/bin/python scripts/bench_ab.py OTHER_CHECKOUT [--rounds 16] [--jobs 600]``, where
``OTHER_CHECKOUT`` is, say, ``git worktree add --detach /tmp/before <commit>``. Prints a line
per round and the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import inspect
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

HERE = Path(__file__).resolve().parents[1]

Drive = Callable[[int], Coroutine[Any, Any, dict[str, Any]]]


def _load(tree: Path, name: str) -> ModuleType:
    """``scripts/<name>.py`` of ``tree``, as a module of its own (both trees have one)."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_{abs(hash(tree))}", tree / "scripts" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


def _start(
    stack: contextlib.ExitStack, tree: Path, work: Path
) -> tuple[Drive, Callable[[], float]]:
    """Start ``tree``'s server with a flow of section 2; return how to drive it and its CPU."""
    common = _load(tree, "bench_common")
    sys.modules["bench_common"] = common  # what the tree's bench_jobs imports
    jobs = _load(tree, "bench_jobs")
    server = stack.enter_context(common.ours(work, work / "data"))
    with httpx.Client(base_url=server.base_url) as client:
        flow = common.pipeline("jobs", concurrency=16)
        client.post("/api/v1/flows", json=flow).raise_for_status()
    one_url = "base_url" in inspect.signature(jobs.drive).parameters  # older trees' signature

    def drive(count: int) -> Coroutine[Any, Any, dict[str, Any]]:
        if one_url:
            return jobs.drive(server.base_url, server.ws_url, "jobs", count, 16)
        return jobs.drive([server.base_url], [server.ws_url], "jobs", count, 16)

    return drive, lambda: float(common.cpu_seconds(server.pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the checkout to compare this one with (A)")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=600, help="jobs per round and side")
    arguments = parser.parse_args()
    trees = {"A": arguments.other.resolve(), "B": HERE}
    root = Path(tempfile.mkdtemp(prefix="routilux-ab-"))
    rates: dict[str, list[float]] = {"A": [], "B": []}
    cpu: dict[str, list[float]] = {"A": [], "B": []}
    try:
        with contextlib.ExitStack() as stack:
            sides = {side: _start(stack, tree, root / side) for side, tree in trees.items()}
            common = _load(HERE, "bench_common")
            stack.enter_context(common.on_cpus(common.CLIENT_CPUS))
            for drive, _ in sides.values():
                asyncio.run(drive(200))  # warm-up
            for number in range(arguments.rounds):
                for side in "AB" if number % 2 == 0 else "BA":
                    drive, cpu_seconds = sides[side]
                    before = cpu_seconds()
                    result = asyncio.run(drive(arguments.jobs))
                    cpu[side].append((cpu_seconds() - before) / result["jobs"] * 1000)
                    rates[side].append(result["jobs_per_s"])
                print(
                    f"round {number}: A {rates['A'][-1]} B {rates['B'][-1]} jobs/s, "
                    f"B/A {rates['B'][-1] / rates['A'][-1]:.3f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratios = [b / a for a, b in zip(rates["A"], rates["B"], strict=True)]
    for side, tree in trees.items():
        print(
            f"{side} {tree}: median {statistics.median(rates[side]):.1f} jobs/s, "
            f"server CPU {statistics.median(cpu[side]):.3f} ms per job"
        )
    print(
        f"B/A per round: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}); "
        f"CPU per job A/B {statistics.median(cpu['A']) / statistics.median(cpu['B']):.3f}"
    )


if __name__ == "__main__":
    main()
