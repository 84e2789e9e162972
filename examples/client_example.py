"""routilux-client in a few lines: create a flow, run it, watch it, wait for it, list its jobs.

    python examples/client_example.py --url http://127.0.0.1:8000 [--api-key KEY] [--age 36]

The API key can also come from ROUTILUX_API_KEY. Type-checked with ``mypy --strict``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from routilux_client.api.flows import create_flow, execute_flow
from routilux_client.api.jobs import list_jobs
from routilux_client.helpers import (
    TERMINAL_JOB_EVENTS,
    ProblemError,
    RoutiluxClient,
    aiterate,
    connect,
    stream_events,
    unwrap,
    wait_for_job,
)
from routilux_client.models import FlowCreate, Job, JobExecute, JobExecuteData

FLOW_ID = "example-greetings"
FLOW: dict[str, Any] = {
    "flow_id": FLOW_ID,
    "name": "Greetings",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"name": "user.name", "age": "age"}}},
        "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
    },
    "connections": [{"from": "shape.output", "to": "adults.input"}],
}


async def ensure_flow(client: RoutiluxClient) -> None:
    """Create the flow, unless it exists already (a 409 problem, raised by ``unwrap``)."""
    try:
        flow = unwrap(await create_flow.asyncio(client=client, body=FlowCreate.from_dict(FLOW)))
        print(f"created flow {flow.flow_id} (revision {flow.revision})")
    except ProblemError as error:
        if error.code != "flow_already_exists":
            raise
        print(f"flow {FLOW_ID} exists already")


async def run(url: str, api_key: str | None, name: str, age: int) -> Job:
    async with connect(url, api_key) as client:
        await ensure_flow(client)
        async with stream_events(client, flow_id=FLOW_ID) as events:
            data = JobExecuteData.from_dict({"user": {"name": name}, "age": age})
            job = unwrap(await execute_flow.asyncio(FLOW_ID, client=client, body=JobExecute(data)))
            print(f"job {job.job_id} is {job.status}")
            async with asyncio.timeout(30):
                async for event in events:
                    if event.job_id != job.job_id:
                        continue
                    print(f"  {event.id} {event.type_} {event.routine_id or ''}")
                    if event.type_ in TERMINAL_JOB_EVENTS:
                        break
        done = await wait_for_job(client, job.job_id, timeout=30)
        print(f"job {done.job_id} {done.status}: {done.output.to_dict()}")
        count = 0
        async for _job in aiterate(list_jobs.asyncio, client=client, flow_id=FLOW_ID, limit=100):
            count += 1
        print(f"{count} job(s) of {FLOW_ID} so far")
        return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=os.environ.get("ROUTILUX_API_KEY"))
    parser.add_argument("--name", default="Ada")
    parser.add_argument("--age", type=int, default=36)
    args = parser.parse_args()
    job = asyncio.run(run(args.url, args.api_key, args.name, args.age))
    raise SystemExit(0 if job.status == "completed" else 1)


if __name__ == "__main__":
    main()
