"""Hostile input: code-execution attempts, hostile YAML, and random flow documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from routilux.server import Settings, create_app
from tests.portal import SyncClient, sync_client

ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "''.__class__.__mro__[1].__subclasses__()",
    "__import__('os').system('id')",
    "data.__class__",
    "data.__dict__",
    "eval('1+1')",
    "exec('import os')",
    "open('/etc/passwd').read()",
    "data.x.__globals__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "lambda: 1",
    "getattr(data, '__class__')",
]

HOSTILE_YAML = [
    b"!!python/object/apply:os.system ['touch /tmp/routilux-pwned']\n",
    b"routines: !!python/name:os.system\n",
    b"a: &a ['x','x']\nb: &b [*a,*a]\nc: &c [*b,*b]\n"
    b"routines: {r: {class: Identity, config: {x: *c}}}\n",
    b"routines:\n  r: {class: Identity}\n  r: {class: Mapper}\n",
    b"\x00\xff\xfe",
    b"[" * 10_000,
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncClient]:
    data_dir: Path = tmp_path_factory.mktemp("attacks")
    with sync_client(
        create_app(Settings(data_dir=data_dir, allowed_hosts=["test"]))
    ) as test_client:
        yield test_client


def filter_flow(condition: str) -> dict[str, Any]:
    return {"routines": {"f": {"class": "Filter", "config": {"condition": condition}}}}


@pytest.mark.parametrize("condition", ESCAPES)
def test_escape_attempts_in_conditions_are_422(client: SyncClient, condition: str) -> None:
    response = client.post("/api/v1/flows", json=filter_flow(condition))
    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["errors"]]
    assert ["body", "routines", "f", "config", "condition"] in locs
    router = {
        "routines": {
            "r": {
                "class": "ConditionalRouter",
                "config": {"routes": [{"name": "x", "condition": condition}]},
            }
        }
    }
    assert client.post("/api/v1/flows", json=router).status_code == 422
    client.post(
        "/api/v1/flows", json={"flow_id": "target", "routines": {"f": {"class": "Identity"}}}
    )
    bp = client.post(
        "/api/v1/breakpoints",
        json={"flow_id": "target", "routine_id": "f", "condition": condition},
    )
    assert bp.status_code == 422
    assert ["body", "condition"] in [e["loc"] for e in bp.json()["errors"]]


@pytest.mark.parametrize(
    "class_name", ["os.system", "builtins.eval", "__import__", "subprocess.Popen"]
)
def test_module_paths_as_routine_types_are_never_imported(
    client: SyncClient, class_name: str
) -> None:
    response = client.post("/api/v1/flows", json={"routines": {"r": {"class": class_name}}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "routines", "r", "class"]


@pytest.mark.parametrize("document", HOSTILE_YAML)
def test_hostile_yaml_is_refused(client: SyncClient, document: bytes) -> None:
    response = client.post(
        "/api/v1/flows", content=document, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert not Path("/tmp/routilux-pwned").exists()


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
type_names = st.sampled_from(
    [
        "Mapper",
        "Filter",
        "ConditionalRouter",
        "Splitter",
        "Aggregator",
        "Batcher",
        "Debouncer",
        "SchemaValidator",
        "Delay",
        "Fail",
        "Identity",
        "DataTransformer",
        "Nope",
        "",
    ]
) | st.text(max_size=12)
routine_ids = st.sampled_from(["a", "b", "c"]) | st.text(max_size=6)
references = st.builds(
    lambda r, p: f"{r}.{p}",
    routine_ids,
    st.sampled_from(["input", "output", "passed", "rejected", "item", "batch", "x"]),
) | st.text(max_size=8)
routine_specs = st.fixed_dictionaries(
    {"class": type_names},
    optional={
        "config": st.dictionaries(
            st.sampled_from(
                [
                    "mappings",
                    "condition",
                    "seconds",
                    "times",
                    "count",
                    "slots",
                    "batch_size",
                    "batch_timeout",
                    "wait",
                    "schema",
                    "routes",
                    "field",
                ]
            ),
            json_values,
            max_size=3,
        ),
        "error_handler": st.dictionaries(
            st.sampled_from(["strategy", "max_retries", "retry_delay", "retry_backoff"]),
            json_values,
            max_size=2,
        ),
    },
)
flow_documents = (
    st.fixed_dictionaries(
        {"routines": st.dictionaries(routine_ids, routine_specs, max_size=4)},
        optional={
            "flow_id": st.text(max_size=10),
            "connections": st.lists(
                st.fixed_dictionaries({"from": references, "to": references}), max_size=4
            ),
            "entry": references,
            "execution": st.dictionaries(
                st.sampled_from(
                    ["timeout", "concurrency", "strategy", "max_workers", "error_handler"]
                ),
                json_values,
                max_size=2,
            ),
            "extra": json_values,
        },
    )
    | json_values
)


# 5,000 examples, not 10,000: measured once with coverage.py (branches of server/routilux), a run
# of 5,000 reaches every branch that one of 10,000 does but the two of a valid flow accepted and
# run (a connection's ports found, Identity run), which the explicit example below reaches on
# every run; the other 5,000 reached no branch more, for 35 s more of the suite. Nearly every
# generated document is refused (9,985 of 10,000 were 422s): the branches are the validation's.
VALID_FLOW = {
    "routines": {"a": {"class": "Identity"}, "b": {"class": "Identity"}},
    "connections": [{"from": "a.output", "to": "b.input"}],
}


@settings(
    max_examples=5_000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=flow_documents)
@example(document=VALID_FLOW)
def test_random_flow_documents_never_cause_a_server_error(
    client: SyncClient, document: Any
) -> None:
    response = client.post("/api/v1/flows", json=document)
    assert response.status_code in (201, 409, 422), response.text
    if response.status_code == 201:
        flow_id = response.json()["flow_id"]
        run = client.post(f"/api/v1/flows/{flow_id}/execute", json={"data": {"items": [1, 2]}})
        assert run.status_code == 202, run.text
        assert (
            client.delete(f"/api/v1/flows/{flow_id}", params={"force": "true"}).status_code == 204
        )
