"""Run an example with routilux-client: create its flow (once), execute it on its input.json,
wait for the job to finish, and print its output.

    pip install ./client        # routilux-client, from the repository's root
    python examples/run.py examples/etl [--url http://127.0.0.1:8000] [--api-key KEY]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from routilux_client.api.flows import execute_flow
from routilux_client.helpers import (
    ProblemError,
    connect,
    create_flow_yaml,
    unwrap,
    wait_for_job_sync,
)
from routilux_client.models import Job, JobExecute, JobExecuteData


def flow_id_of(folder: Path) -> str:
    """The id an example's flow.yaml gives its flow (on its top-level ``flow_id:`` line)."""
    found = re.search(r"^flow_id:\s*(\S+)\s*$", (folder / "flow.yaml").read_text(), re.MULTILINE)
    if found is None:
        raise ValueError(f"{folder / 'flow.yaml'} has no top-level flow_id line")
    return found.group(1)


def run(folder: Path, base_url: str, api_key: str | None = None, timeout: float = 30) -> Job:
    """Create the example's flow unless it exists, run it on its input.json, and return the
    finished job."""
    with connect(base_url, api_key) as client:
        try:  # flow.yaml as it is written: the server reports problems at its lines
            unwrap(create_flow_yaml.sync(client=client, body=(folder / "flow.yaml").read_bytes()))
        except ProblemError as problem:
            if problem.code != "flow_already_exists":  # else created by an earlier run: fine
                raise
        data = JobExecuteData.from_dict(json.loads((folder / "input.json").read_text()))
        job = unwrap(execute_flow.sync(flow_id_of(folder), client=client, body=JobExecute(data)))
        # Long polls of get_job: answered as soon as the job has finished.
        return wait_for_job_sync(client, job.job_id, timeout=timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run an example on a Routilux server.")
    parser.add_argument("example", type=Path, help="the example's folder, e.g. examples/etl")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key")
    args = parser.parse_args()
    job = run(args.example, args.url, args.api_key)
    print(f"job {job.job_id}: {job.status.value}")
    print(json.dumps(job.output.to_dict(), indent=2))


if __name__ == "__main__":
    main()
