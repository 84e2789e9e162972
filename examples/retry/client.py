"""Run this example from Python with httpx: create the flow (once), execute it on input.json,
wait for the job to finish, and print its output.

    pip install httpx
    python examples/retry/client.py [--url http://127.0.0.1:8000] [--api-key KEY]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
FLOW_ID = "retry"


def run(base_url: str, api_key: str | None = None, timeout: float = 30) -> dict[str, Any]:
    """Create the flow unless it exists, run it on input.json, and return the finished job."""
    headers = {"X-API-Key": api_key} if api_key else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        created = client.post(
            "/api/v1/flows",
            content=(HERE / "flow.yaml").read_bytes(),
            headers={"Content-Type": "application/yaml"},
        )
        if created.status_code != 409:  # 409: created by an earlier run, nothing to do
            created.raise_for_status()
        data = json.loads((HERE / "input.json").read_text())
        response = client.post(f"/api/v1/flows/{FLOW_ID}/execute", json={"data": data})
        job: dict[str, Any] = response.raise_for_status().json()
        deadline = time.monotonic() + timeout
        while job["finished_at"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
            job = client.get(f"/api/v1/jobs/{job['job_id']}").raise_for_status().json()
        return job


def main() -> None:
    parser = argparse.ArgumentParser(description="Run this example on a Routilux server.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key")
    args = parser.parse_args()
    job = run(args.url, args.api_key)
    print(f"job {job['job_id']}: {job['status']}")
    print(json.dumps(job["output"], indent=2))


if __name__ == "__main__":
    main()
