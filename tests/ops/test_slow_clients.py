"""Clients that stop reading their event stream do not slow anyone else down.

A reader measures, for every event of a busy flow, the delay from its publication (the event's
``timestamp``) to its arrival; once alone, once next to five clients that never read. The stated
bound: with the stuck clients, the reader's p99 delay stays under BOUND_MS, and every event still
arrives, in order.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

from tests.live import LiveServer, live_server
from tests.server.test_ws_live import Frame, http, receive, stream, unread_socket

BOUND_MS = 250.0
STUCK_CLIENTS = 5
JOBS = 4
BUSY = {
    "flow_id": "busy",
    "routines": {
        "split": {"class": "Splitter"},
        "pace": {"class": "Delay", "config": {"seconds": 0.002}},
    },
    "connections": [{"from": "split.item", "to": "pace.input"}],
    "execution": {"concurrency": 4},
}
BLOB = "y" * 4000


async def measure(server: LiveServer, stuck: int) -> tuple[list[float], list[Frame]]:
    async with AsyncExitStack() as stack, http(server) as client:
        stuck_ones = []
        for _ in range(stuck):
            # Closed once its connection has gone (LIFO), whatever became of that connection:
            # a stuck client the server already dropped must not leave its socket to the GC.
            sock = unread_socket(server)
            stack.callback(sock.close)
            ws = await stack.enter_async_context(
                stream(
                    server,
                    "?flow_id=busy",
                    sock=sock,
                    max_queue=1,
                    compression=None,
                )
            )
            stuck_ones.append(ws)
        reader = await stack.enter_async_context(
            stream(server, "?flow_id=busy", max_size=None, compression=None)
        )
        delays: list[float] = []
        frames: list[Frame] = []
        completed: set[str] = set()

        async def read() -> None:
            # From the first job on, as the frames come: a delay measures the server, never
            # this test's own requests (the jobs' inputs are 600 KB each).
            while len(completed) < JOBS:
                frame = await receive(reader)
                arrived = time.time()
                published = datetime.fromisoformat(frame["timestamp"]).timestamp()
                delays.append((arrived - published) * 1000)
                frames.append(frame)
                if frame["type"] == "job.completed":
                    completed.add(frame["job_id"])

        reading = asyncio.create_task(read())
        try:
            jobs = set()
            for _ in range(JOBS):
                items = [f"{n}:{BLOB}" for n in range(150)]
                response = await client.post(
                    "/api/v1/flows/busy/execute", json={"data": {"items": items}}
                )
                assert response.status_code == 202
                jobs.add(response.json()["job_id"])
            await reading
        finally:
            reading.cancel()
        assert completed == jobs
        for ws in stuck_ones:
            ws.transport.abort()  # they would never read a closing handshake either
        return delays, frames


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)]


def test_stuck_clients_do_not_delay_a_reading_client(tmp_path: Path) -> None:
    env = {
        "ROUTILUX_WS_SEND_BUFFER": "50",
        "ROUTILUX_MAX_BODY_BYTES": "4000000",
        "ROUTILUX_MAX_JOB_INPUT_BYTES": "4000000",
    }
    with live_server(tmp_path, env=env) as server:

        async def scenario() -> tuple[list[float], list[float], list[Frame]]:
            async with http(server) as client:
                assert (await client.post("/api/v1/flows", json=BUSY)).status_code == 201
            alone, _ = await measure(server, stuck=0)
            crowded, frames = await measure(server, stuck=STUCK_CLIENTS)
            return alone, crowded, frames

        alone, crowded, frames = asyncio.run(scenario())
    ids = [f["id"] for f in frames]
    assert ids == sorted(set(ids))
    assert sum(f["type"] == "event.emitted" for f in frames) >= JOBS * 150 * 2
    print(
        f"\nreader delay p50/p99: alone {statistics.median(alone):.1f}/{p99(alone):.1f} ms, "
        f"next to {STUCK_CLIENTS} stuck clients "
        f"{statistics.median(crowded):.1f}/{p99(crowded):.1f} ms"
    )
    assert p99(crowded) < BOUND_MS
