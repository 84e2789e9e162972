"""The live event stream, in process: fan-out, replay, slow clients, filters, messages, auth."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from routilux.server.ws import stream
from tests.server.conftest import ON_BOTH_DATABASES, PIPELINE, AppFactory, finished, runtime_of
from tests.server.wsclient import Closed, WsClient, connect

pytestmark = ON_BOTH_DATABASES

SPLIT = {
    "flow_id": "split",
    "routines": {"split": {"class": "Splitter"}, "echo": {"class": "Identity"}},
    "connections": [{"from": "split.item", "to": "echo.input"}],
}
OTHER = {**PIPELINE, "flow_id": "other"}

Frame = dict[str, Any]


def app_of(client: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    return app


async def run_job(client: httpx.AsyncClient, flow_id: str, data: dict[str, Any]) -> str:
    response = await client.post(f"/api/v1/flows/{flow_id}/execute", json={"data": data})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def history(client: httpx.AsyncClient, job_id: str) -> list[Frame]:
    """The job's stored events, every page of them."""
    items: list[Frame] = []
    after = 0
    while True:
        params = {"limit": 1000, "after": after}
        page = (await client.get(f"/api/v1/jobs/{job_id}/events", params=params)).json()
        items += page["items"]
        if page["next_after"] is None:
            return items
        after = page["next_after"]


async def until(ws: WsClient, event_type: str, job_id: str) -> list[Frame]:
    """Events up to and including ``event_type`` of ``job_id``; no control frame may come."""
    frames = []
    while True:
        frame = await ws.receive()
        assert "." in frame["type"], frame
        frames.append(frame)
        if frame["type"] == event_type and frame["job_id"] == job_id:
            return frames


async def until_pong(ws: WsClient) -> list[Frame]:
    """Every event sent before the reply to a ping: all it wants that was published so far."""
    await ws.send_json({"type": "ping"})
    frames = []
    while (frame := await ws.receive())["type"] != "pong":
        frames.append(frame)
    return frames


def ids(frames: list[Frame]) -> list[int]:
    return [frame["id"] for frame in frames]


def increasing(frames: list[Frame]) -> bool:
    return all(a < b for a, b in zip(ids(frames), ids(frames)[1:], strict=False))


# -- fan-out and order -------------------------------------------------------------------------


async def test_two_clients_each_receive_every_event_of_a_job_in_order(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=SPLIT)
    app = app_of(client)
    async with (
        connect(app, [("flow_id", "split")]) as one,
        connect(app, [("flow_id", "split")]) as two,
    ):
        job_id = await run_job(client, "split", {"items": list(range(30))})
        # A third follows the job by its id, which it can only know once the job is queued.
        async with connect(app, [("job_id", job_id), ("since", "0")]) as three:
            seen_three = await until(three, "job.completed", job_id)
        seen_one = await until(one, "job.completed", job_id)
        seen_two = await until(two, "job.completed", job_id)
    stored = await history(client, job_id)
    assert len(stored) > 90
    # The very same envelopes as the job's event history, in id order, for each client.
    assert seen_one == seen_two == seen_three == stored
    assert increasing(stored)


async def test_a_bare_connection_gets_every_event_until_its_first_subscribe(
    client: httpx.AsyncClient,
) -> None:
    async with connect(app_of(client)) as ws:
        await client.post("/api/v1/flows", json=PIPELINE)
        created = await ws.receive()
        assert created["type"] == "flow.created" and created["flow_id"] == "pipeline"
        reply = await ws.request({"type": "subscribe", "types": ["flow.deleted"]})
        assert reply == {
            "type": "subscribed",
            "subscription_id": 1,
            "flow_id": [],
            "job_id": [],
            "types": ["flow.deleted"],
        }
        await client.post("/api/v1/flows", json=OTHER)
        await client.delete("/api/v1/flows/other")
        assert [(f["type"], f["flow_id"]) for f in await until_pong(ws)] == [
            ("flow.deleted", "other")
        ]


# -- replay ------------------------------------------------------------------------------------


async def test_since_replays_the_history_then_the_live_tail_with_no_gap_or_duplicate(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "REPLAY_PAGE", 4)  # several pages, and a page boundary or two
    await client.post("/api/v1/flows", json=SPLIT)
    bp = await client.post(
        "/api/v1/breakpoints",
        json={"flow_id": "split", "routine_id": "echo", "condition": "data.item == 7"},
    )
    job_id = await run_job(client, "split", {"items": list(range(12))})
    async with connect(app_of(client), [("job_id", job_id), ("since", "0")]) as ws:
        before = await until(ws, "job.paused", job_id)  # mid-job: paused at item 7
        resumed = await client.post(f"/api/v1/breakpoints/{bp.json()['breakpoint_id']}/resume")
        assert resumed.status_code == 200
        after = await until(ws, "job.completed", job_id)
    seen = before + after
    assert increasing(seen)
    assert seen == await history(client, job_id)


async def test_since_while_a_job_runs_gives_its_whole_history_whenever_it_connects(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "REPLAY_PAGE", 16)
    await client.post("/api/v1/flows", json=SPLIT)
    job_id = await run_job(client, "split", {"items": list(range(200))})
    async with connect(app_of(client), [("job_id", job_id), ("since", "0")]) as ws:
        seen = await until(ws, "job.completed", job_id)
    assert seen == await history(client, job_id)


async def test_since_alone_replays_every_event_after_it(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    first = await run_job(client, "pipeline", {"age": 20})
    await finished(client, first)
    mark = (await history(client, first))[-1]["id"]
    second = await run_job(client, "pipeline", {"age": 30})
    await finished(client, second)
    async with connect(app_of(client), [("since", str(mark))]) as ws:
        seen = await until_pong(ws)
        # Subscription 1 is the query string's (everything), so the next one is 2.
        assert (await ws.request({"type": "subscribe"}))["subscription_id"] == 2
    assert seen == await history(client, second)


# -- slow clients ------------------------------------------------------------------------------


async def test_a_client_that_does_not_read_is_closed_with_1013_and_can_resume(
    make_client: AppFactory,
) -> None:
    # A reader may fall behind by ten times its buffer during one turn of the loop (a burst:
    # the Splitter's one activation, or a drain slice of the engine's, a few hundred events);
    # the job publishes more than that in all (about 1,200 events), so the stuck client's
    # buffer overflows while the reading one never holds more than a burst.
    async with make_client(ws_send_buffer=100) as client:
        app = app_of(client)
        await client.post("/api/v1/flows", json=SPLIT)
        query = [("flow_id", "split")]
        # The stuck client holds 2 frames unread; then the server's sends to it block.
        async with connect(app, query, capacity=2) as stuck, connect(app, query) as reader:
            job_id = await run_job(client, "split", {"items": list(range(300))})
            seen = await until(reader, "job.completed", job_id)
            await runtime_of(client).wait_job(job_id, timeout=5)
            held = [await stuck.receive(), await stuck.receive()]
            with pytest.raises(Closed) as closed:
                await stuck.receive()
        stored = await history(client, job_id)
        assert seen == stored
        assert closed.value.code == 1013
        resume = re.fullmatch(
            r"too slow, events dropped; resume with since=(\d+)", closed.value.reason
        )
        assert resume is not None and int(resume[1]) == held[-1]["id"]
        assert held == stored[:2]
        assert app.state.ws_hub.dropped_events > 0
        # Resuming where it was cut off gives exactly the rest.
        async with connect(app, [*query, ("since", resume[1])]) as again:
            rest = await until(again, "job.completed", job_id)
        assert held + rest == stored


# -- filters -----------------------------------------------------------------------------------


async def test_filters_by_flow_job_and_type_deliver_exactly_the_matching_events(
    client: httpx.AsyncClient,
) -> None:
    app = app_of(client)
    await client.post("/api/v1/flows", json=PIPELINE)
    await client.post("/api/v1/flows", json=OTHER)
    # The pipeline's job waits at a breakpoint, so that it can be subscribed to by id mid-way.
    bp = await client.post(
        "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "adults"}
    )
    types = ("job.queued", "job.completed", "flow.deleted")
    async with (
        connect(app) as everything,
        connect(app, [("flow_id", "other")]) as by_flow,
        connect(app, [("types", ",".join(types[:2])), ("types", types[2])]) as by_type,
        connect(app, [("types", "flow.created")]) as by_job,
        connect(app, [("flow_id", "pipeline"), ("types", "job.completed")]) as both,
    ):
        held, other = [await run_job(client, flow, {"age": 40}) for flow in ("pipeline", "other")]
        published = await until(everything, "job.paused", held)
        published += await until_pong(everything)
        mark = published[-1]["id"]  # the job is paused: it publishes nothing until resumed
        reply = await by_job.request({"type": "subscribe", "job_id": held})
        assert reply["job_id"] == [held] and reply["subscription_id"] == 2
        await client.post(f"/api/v1/breakpoints/{bp.json()['breakpoint_id']}/resume")
        for job_id in (held, other):
            await finished(client, job_id)
        await client.delete("/api/v1/flows/other")
        published += await until_pong(everything)
        received = {
            "flow": await until_pong(by_flow),
            "type": await until_pong(by_type),
            "job": await until_pong(by_job),
            "both": await until_pong(both),
        }
    assert increasing(published)
    expected = {
        "flow": [e for e in published if e["flow_id"] == "other"],
        "type": [e for e in published if e["type"] in types],
        "job": [e for e in published if e["job_id"] == held and e["id"] > mark],
        "both": [
            e for e in published if e["flow_id"] == "pipeline" and e["type"] == "job.completed"
        ],
    }
    assert received == expected
    assert all(expected.values()) and len(published) > len(expected["flow"]) + 10


async def test_breakpoint_hit_carries_the_breakpoint_routine_and_pending_payload(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    bp = (
        await client.post(
            "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "adults"}
        )
    ).json()
    query = [("types", "breakpoint.hit")]
    async with connect(app_of(client), query) as ws:
        job_id = await run_job(client, "pipeline", {"user": {"name": "Ada"}, "age": 36})
        hit = await ws.receive()
    assert hit["type"] == "breakpoint.hit"
    assert hit["job_id"] == job_id and hit["flow_id"] == "pipeline"
    assert hit["routine_id"] == "adults"
    assert hit["data"] == {
        "breakpoint_id": bp["breakpoint_id"],
        "slot": "input",
        "payload": {"name": "Ada", "age": 36},
        "hit_count": 1,
    }


# -- client messages ---------------------------------------------------------------------------


async def test_ping_subscribe_and_unsubscribe(client: httpx.AsyncClient) -> None:
    async with connect(app_of(client), [("types", "flow.created")]) as ws:
        assert await ws.request({"type": "ping"}) == {"type": "pong"}
        second = await ws.request({"type": "subscribe", "types": "flow.deleted", "flow_id": ["a"]})
        assert second["subscription_id"] == 2 and second["flow_id"] == ["a"]
        for flow_id in ("a", "b"):
            await client.post("/api/v1/flows", json={**PIPELINE, "flow_id": flow_id})
            await client.delete(f"/api/v1/flows/{flow_id}")
        assert [(e["type"], e["flow_id"]) for e in await until_pong(ws)] == [
            ("flow.created", "a"),
            ("flow.deleted", "a"),
            ("flow.created", "b"),
        ]
        assert await ws.request({"type": "unsubscribe", "subscription_id": 1}) == {
            "type": "unsubscribed",
            "subscription_id": 1,
        }
        assert await ws.request({"type": "unsubscribe", "subscription_id": 2}) == {
            "type": "unsubscribed",
            "subscription_id": 2,
        }
        await client.post("/api/v1/flows", json={**PIPELINE, "flow_id": "a"})
        await client.delete("/api/v1/flows/a")
        assert await until_pong(ws) == []  # no subscription left: nothing at all
        gone = await ws.request({"type": "unsubscribe", "subscription_id": 2})
        assert gone == {
            "type": "error",
            "code": "unknown_subscription",
            "message": "no subscription 2",
        }


GARBAGE: list[tuple[str | bytes, str, str]] = [
    ("not json", "invalid_json", "not JSON"),
    ("[1, 2]", "invalid_message", "a JSON object with a 'type'"),
    ('{"type": "dance"}', "unknown_type", 'unknown message type "dance"'),
    ('{"kind": "ping"}', "unknown_type", "unknown message type null"),
    ('{"type": "ping", "x": 1}', "invalid_message", "ping: unknown field 'x'"),
    ('{"type": "subscribe", "types": ["job.done"]}', "invalid_filter", "unknown event type"),
    ('{"type": "subscribe", "job_id": "no spaces"}', "invalid_filter", "job_id: 'no spaces'"),
    ('{"type": "subscribe", "flow_id": 3}', "invalid_message", "flow_id must be a string"),
    ('{"type": "unsubscribe", "subscription_id": "1"}', "invalid_message", "an integer"),
    (b"\x00\x01", "binary_frame", "text frames"),
    ("x" * 20_000, "message_too_large", "at most 16384"),
]


@pytest.mark.parametrize(("message", "code", "says"), GARBAGE)
async def test_garbage_gets_an_error_frame_that_says_why(
    client: httpx.AsyncClient, message: str | bytes, code: str, says: str
) -> None:
    async with connect(app_of(client)) as ws:
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        else:
            await ws.send_text(message)
        reply = await ws.receive()
        assert reply["type"] == "error" and reply["code"] == code
        assert says in reply["message"]
        assert await ws.request({"type": "ping"}) == {"type": "pong"}  # still open


async def test_a_client_that_keeps_sending_garbage_is_closed_with_1008(
    client: httpx.AsyncClient,
) -> None:
    async with connect(app_of(client)) as ws:
        for _ in range(4):
            await ws.send_text("{")
            assert (await ws.receive())["type"] == "error"
        assert await ws.request({"type": "ping"}) == {"type": "pong"}  # a good one resets
        for _ in range(5):
            await ws.send_text("{")
            assert (await ws.receive())["type"] == "error"
        closed = await ws.closed_with()
    assert (closed.code, closed.reason) == (1008, "too many invalid messages")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ([("job_id", "bad id!")], "job_id: 'bad id!' does not match"),
        ([("flow_id", "")], "flow_id: '' does not match"),
        ([("types", "job.completed,job.exploded")], "unknown event type 'job.exploded'"),
        ([("since", "-1")], "since: '-1' is not an integer >= 0"),
        ([("since", "soon")], "since: 'soon' is not an integer >= 0"),
        ([("since", "1"), ("since", "2")], "since: give it once"),
        ([("type", "job.completed")], "unknown query parameter 'type'"),
    ],
)
async def test_an_invalid_query_string_is_closed_with_1008_saying_why(
    client: httpx.AsyncClient, query: list[tuple[str, str]], says: str
) -> None:
    ws = WsClient(app_of(client), query)
    await ws.open()
    frame = await ws.receive()
    assert frame["type"] == "error" and frame["code"] == "invalid_query"
    assert says in frame["message"]
    closed = await ws.closed_with()
    assert closed.code == 1008 and says in closed.reason
    await ws.finished()


# -- auth, limits and shutdown -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, []),
        ({"X-API-Key": "wrong"}, []),
        ({}, [("api_key", "wrong")]),
        ({"X-API-Key": "wrong"}, [("api_key", "secret-key")]),  # the header is the one read
    ],
)
async def test_a_missing_or_wrong_key_is_refused_before_anything_is_sent(
    make_client: AppFactory, headers: dict[str, str], query: list[tuple[str, str]]
) -> None:
    async with make_client(api_keys=["secret-key"]) as client:
        ws = WsClient(app_of(client), [*query, ("flow_id", "pipeline")], headers=headers)
        with pytest.raises(Closed) as refused:
            await ws.open()
        await ws.finished()
    assert refused.value.code == 1008 and not refused.value.accepted


@pytest.mark.parametrize(
    ("headers", "query"), [({"X-API-Key": "secret-key"}, []), ({}, [("api_key", "secret-key")])]
)
async def test_a_valid_key_in_the_header_or_the_query_is_let_in(
    make_client: AppFactory, headers: dict[str, str], query: list[tuple[str, str]]
) -> None:
    async with make_client(api_keys=["secret-key"]) as client:
        async with connect(app_of(client), query, headers=headers) as ws:
            assert await ws.request({"type": "ping"}) == {"type": "pong"}


async def test_connections_beyond_the_limit_are_closed_with_1013(
    make_client: AppFactory,
) -> None:
    async with make_client(ws_max_connections=1) as client:
        app = app_of(client)
        async with connect(app):
            extra = WsClient(app)
            await extra.open()
            closed = await extra.closed_with()
            await extra.finished()
            assert (closed.code, closed.reason) == (1013, "too many connections")
        async with connect(app) as again:  # the slot is free once the first has gone
            assert await again.request({"type": "ping"}) == {"type": "pong"}


async def test_shutdown_closes_connected_clients_with_1001(make_client: AppFactory) -> None:
    async with make_client() as client:
        ws = WsClient(app_of(client))
        await ws.open()
        assert await ws.request({"type": "ping"}) == {"type": "pong"}
    closed = await ws.closed_with()
    await ws.finished()
    assert (closed.code, closed.reason) == (1001, "server shutting down")
