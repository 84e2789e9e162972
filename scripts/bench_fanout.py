"""Section 4: event fan-out to 10 WebSocket subscribers of one busy flow.

Ten clients connect to ``/api/v1/ws/events?flow_id=busy`` and record, for every frame, its event
id and the delay from the event's ``timestamp`` (set when the engine published it) to receipt.
Meanwhile jobs of the 3-routine flow are submitted at a steady rate over HTTP. Once every job is
finished, each subscriber sends a ``ping`` (answered only after everything published before it
was sent), and a separate connection replays the flow's stored history (``since=0``): every
subscriber must have received exactly the events of the submitted jobs, none missing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from bench_common import CLIENT_CPUS, cpu_seconds, log, on_cpus, ours, percentile, pipeline
from bench_wsclient import Closed, RawWebSocket

FLOW = "busy"
PING = orjson.dumps({"type": "ping"}).decode()


class Subscriber:
    """One subscriber, on the minimal client of ``bench_wsclient`` (no compression): with the
    ``websockets`` library, ten of them used most of the load generator's core and the measured
    delay was the client's as much as the server's."""

    def __init__(self, ws: RawWebSocket) -> None:
        self.ws = ws
        self.ids: list[int] = []
        self.delays: list[float] = []
        self.last_receipt = 0.0
        self.pong = asyncio.Event()

    async def read(self) -> None:
        try:
            while True:
                now, frames = await self.ws.receive_many()
                for frame in frames:
                    event = orjson.loads(frame)
                    if "id" not in event:
                        if event.get("type") == "pong":
                            self.pong.set()
                        continue
                    stamp = datetime.fromisoformat(event["timestamp"]).timestamp()
                    self.ids.append(event["id"])
                    self.delays.append(now - stamp)
                    self.last_receipt = now
        except Closed:
            return


async def _history(ws_url: str) -> list[dict[str, Any]]:
    """Every stored event of the flow, replayed by the stream itself."""
    events: list[dict[str, Any]] = []
    ws = await RawWebSocket.connect(f"{ws_url}/api/v1/ws/events?flow_id={FLOW}&since=0")
    try:
        await ws.send_text(PING)
        while True:
            _, frames = await ws.receive_many()
            for frame in frames:
                event = orjson.loads(frame)
                if event.get("type") == "pong" and "id" not in event:
                    return events
                events.append(event)
    finally:
        await ws.close()


async def drive(base_url: str, ws_url: str, subscribers: int, rate: float, seconds: float) -> Any:
    url = f"{ws_url}/api/v1/ws/events?flow_id={FLOW}"
    subs = [Subscriber(await RawWebSocket.connect(url)) for _ in range(subscribers)]
    readers = [asyncio.create_task(s.read()) for s in subs]
    job_ids: list[str] = []
    # Submitters as in the jobs section: one httpx client each, not one shared pool.
    pool = [httpx.AsyncClient(base_url=base_url, timeout=60) for _ in range(16)]
    headers = {"content-type": "application/json"}
    try:
        client = pool[0]
        in_flight: set[asyncio.Task[None]] = set()

        async def submit(n: int) -> None:
            body = orjson.dumps({"data": {"value": n, "name": f"job {n}"}})
            response = await pool[n % len(pool)].post(
                f"/api/v1/flows/{FLOW}/execute", content=body, headers=headers
            )
            response.raise_for_status()
            job_ids.append(orjson.loads(response.content)["job_id"])

        started = time.time()
        total = int(rate * seconds)
        for n in range(total):
            # A steady rate: job n goes out at started + n / rate.
            delay = started + n / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(submit(n))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        submitted = time.time() - started
        # Wait for every job to finish, then for every subscriber to be caught up.
        deadline = time.monotonic() + 60
        unfinished = list(job_ids)
        while unfinished and time.monotonic() < deadline:
            job = (await client.get(f"/api/v1/jobs/{unfinished[-1]}")).json()
            if job["status"] in ("completed", "failed", "cancelled"):
                unfinished.pop()
            else:
                await asyncio.sleep(0.01)
    finally:
        for each in pool:
            await each.aclose()
    for sub in subs:
        await sub.ws.send_text(PING)
    await asyncio.wait_for(asyncio.gather(*(s.pong.wait() for s in subs)), 60)
    window = max(s.last_receipt for s in subs) - started
    for sub in subs:
        await sub.ws.close()
    await asyncio.gather(*readers, return_exceptions=True)

    history = await _history(ws_url)
    jobs = set(job_ids)
    expected = {e["id"] for e in history if e.get("job_id") in jobs}
    lost = [len(expected - set(s.ids)) for s in subs]
    duplicated = [len(s.ids) - len(set(s.ids)) for s in subs]
    out_of_order = [sum(1 for a, b in zip(s.ids, s.ids[1:], strict=False) if b <= a) for s in subs]
    delays = [d for s in subs for d in s.delays]
    delivered = sum(len(s.ids) for s in subs)
    return {
        "subscribers": subscribers,
        "jobs": len(job_ids),
        "job_rate_per_s": rate,
        "submit_seconds": round(submitted, 3),
        "events_per_subscriber": len(expected),
        "delivered_events": delivered,
        "delivered_per_s": round(delivered / window),
        "p50_delay_ms": round(percentile(delays, 50) * 1000, 2),
        "p99_delay_ms": round(percentile(delays, 99) * 1000, 2),
        "max_delay_ms": round(max(delays) * 1000, 2),
        "lost": sum(lost),
        "duplicated": sum(duplicated),
        "out_of_order": sum(out_of_order),
    }


def run(
    workdir: Path, subscribers: int = 10, rate: float = 200.0, seconds: float = 5.0
) -> dict[str, Any]:
    log("fan-out: this server")
    with ours(workdir, workdir / "ours-fanout") as server, on_cpus(CLIENT_CPUS):
        with httpx.Client(base_url=server.base_url) as client:
            client.post("/api/v1/flows", json=pipeline(FLOW, concurrency=16)).raise_for_status()
        # A first, shorter round warms the server up (its first connections and jobs).
        asyncio.run(drive(server.base_url, server.ws_url, subscribers, rate, 1.0))
        cpu, started, own = cpu_seconds(server.pid), time.monotonic(), time.process_time()
        result: dict[str, Any] = asyncio.run(
            drive(server.base_url, server.ws_url, subscribers, rate, seconds)
        )
        # The server's share of one core over the round (its threads together).
        elapsed = time.monotonic() - started
        result["server_cpu"] = round((cpu_seconds(server.pid) - cpu) / elapsed, 3)
        # ... and the subscribers' and the submitter's, which share one process.
        result["client_cpu"] = round((time.process_time() - own) / elapsed, 3)
    log(
        f"fan-out: {result['delivered_per_s']} events/s delivered, p99 delay "
        f"{result['p99_delay_ms']} ms, lost {result['lost']}"
    )
    return result
