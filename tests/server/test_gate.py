"""The gate, in process: rate limits keyed on who the caller verifiably is, the Host and Origin
checks without keys, WebSocket keys as a subprotocol, slots per key, and message floods."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from fastapi import FastAPI

from routilux.server.ratelimit import RateLimit, address_identity
from tests.server.conftest import PIPELINE, AppFactory, assert_problem
from tests.server.wsclient import Closed, WsClient, connect

KEY = "secret-key"


def app_of(client: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    return app


def rate_limit_of(client: httpx.AsyncClient) -> RateLimit:
    """The app's limiter, as the gate holds it (the outermost middleware but the console's)."""
    stack = app_of(client).middleware_stack
    while stack is not None and not hasattr(stack, "rate_limit"):
        stack = getattr(stack, "app", None)
    assert stack is not None, "no gate in the middleware stack"
    limiter = stack.rate_limit
    assert isinstance(limiter, RateLimit)
    return limiter


def subprotocol_key(key: str) -> str:
    return "routilux.key." + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


# -- rate limit: keyed on the verified identity ------------------------------------------------

# Five requests per 500 s: the counts below hold however slowly the machine sends them (at one
# per second, a run that took over a second got a sixth one in).
SLOW_REFILL = 0.01


async def test_a_new_random_key_per_request_does_not_bypass_the_limit_without_keys(
    make_client: AppFactory,
) -> None:
    async with make_client(rate_limit_per_second=SLOW_REFILL, rate_limit_burst=5) as client:
        statuses = []
        for _ in range(40):
            # 64 KB of a different "key" each time: once, each was a new caller, kept for good.
            headers = {"X-API-Key": secrets.token_hex(32_768)}
            statuses.append((await client.get("/api/v1/flows", headers=headers)).status_code)
        assert statuses.count(200) == 5 and statuses.count(429) == 35, statuses
        # One caller (the client address), so the state is one counter, not one per value.
        assert rate_limit_of(client).entries() <= 2


async def test_wrong_keys_are_limited_by_address_and_a_valid_key_has_its_own_budget(
    make_client: AppFactory,
) -> None:
    async with make_client(
        api_keys=[KEY], rate_limit_per_second=SLOW_REFILL, rate_limit_burst=5
    ) as client:
        statuses = []
        for _ in range(30):
            headers = {"X-API-Key": secrets.token_hex(16)}
            statuses.append((await client.get("/api/v1/flows", headers=headers)).status_code)
        assert statuses.count(401) == 5 and statuses.count(429) == 25, statuses
        # Guessing from the same address does not lock out the holder of a key.
        ok = await client.get("/api/v1/flows", headers={"X-API-Key": KEY})
        assert ok.status_code == 200
        assert rate_limit_of(client).entries() <= 4


def test_an_ipv6_client_is_one_caller_across_its_64() -> None:
    assert address_identity("2001:db8:1:2::1") == address_identity("2001:db8:1:2:ffff::9")
    assert address_identity("2001:db8:1:2::1") != address_identity("2001:db8:1:3::1")
    assert address_identity("::ffff:192.0.2.7") == address_identity("192.0.2.7")
    assert address_identity(None) == address_identity("not an address") == "addr:unknown"


async def test_websocket_handshakes_count_against_the_rate_limit(
    make_client: AppFactory,
) -> None:
    async with make_client(rate_limit_per_second=SLOW_REFILL, rate_limit_burst=5) as client:
        app = app_of(client)
        accepted = refused = 0
        for _ in range(20):
            ws = WsClient(app)
            try:
                await ws.open()
            except Closed as closed:
                assert (closed.code, closed.accepted) == (1013, False)
                refused += 1
            else:
                accepted += 1
            await ws.disconnect()
        assert (accepted, refused) == (5, 15)


# -- Host and Origin, with keys unset ----------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8000", "127.0.0.1:8000", "127.9.9.9", "[::1]:8000", "test"],
)
async def test_loopback_and_allowed_hosts_are_served_without_keys(
    make_client: AppFactory, host: str
) -> None:
    async with make_client() as client:
        created = await client.post("/api/v1/flows", json=PIPELINE, headers={"Host": host})
        assert created.status_code == 201, created.text


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "10.0.0.5", ""])
async def test_another_host_is_421_without_keys_and_creates_nothing(
    make_client: AppFactory, host: str
) -> None:
    async with make_client() as client:
        # DNS rebinding: a page of attacker.example whose name now resolves to 127.0.0.1.
        refused = await client.post("/api/v1/flows", json=PIPELINE, headers={"Host": host})
        assert_problem(refused, 421, "host_not_allowed")
        health = await client.get("/api/v1/health/live", headers={"Host": host})
        assert health.status_code == 421
        flows = await client.get("/api/v1/flows")
        assert flows.json()["items"] == []


async def test_any_host_is_served_with_keys(make_client: AppFactory) -> None:
    async with make_client(api_keys=[KEY], allowed_hosts=[]) as client:
        headers = {"Host": "routilux.internal.example", "X-API-Key": KEY}
        created = await client.post("/api/v1/flows", json=PIPELINE, headers=headers)
        assert created.status_code == 201, created.text


async def test_allowed_hosts_setting_adds_names(make_client: AppFactory) -> None:
    async with make_client(allowed_hosts="test,Dev.Example") as client:
        ok = await client.get("/api/v1/flows", headers={"Host": "dev.example:8000"})
        assert ok.status_code == 200
        other = await client.get("/api/v1/flows", headers={"Host": "prod.example"})
        assert_problem(other, 421, "host_not_allowed")


@pytest.mark.parametrize("origin", ["https://attacker.example", "null", "http://10.0.0.5:80"])
async def test_a_page_of_another_origin_is_403_without_keys(
    make_client: AppFactory, origin: str
) -> None:
    async with make_client() as client:
        refused = await client.post("/api/v1/flows", json=PIPELINE, headers={"Origin": origin})
        assert_problem(refused, 403, "origin_not_allowed")
        ok = await client.post(
            "/api/v1/flows", json=PIPELINE, headers={"Origin": "http://localhost:5173"}
        )
        assert ok.status_code == 201


async def test_websocket_from_another_host_or_origin_is_refused_without_keys(
    make_client: AppFactory,
) -> None:
    async with make_client() as client:
        app = app_of(client)
        for ws in (
            WsClient(app, host="attacker.example"),
            WsClient(app, headers={"Origin": "https://attacker.example"}),
        ):
            with pytest.raises(Closed) as refused:
                await ws.open()
            await ws.finished()
            assert refused.value.code == 1008 and not refused.value.accepted
        async with connect(app, headers={"Origin": "http://localhost:8000"}) as ws:
            assert await ws.request({"type": "ping"}) == {"type": "pong"}


# -- WebSocket: the key as a subprotocol, slots per key, message rate ----------------------------


async def test_a_browser_offers_its_key_as_a_subprotocol_and_gets_routilux_v1(
    make_client: AppFactory,
) -> None:
    async with make_client(api_keys=[KEY]) as client:
        app = app_of(client)
        offered = ["routilux.v1", subprotocol_key(KEY)]
        async with connect(app, subprotocols=offered) as ws:
            assert ws.subprotocol == "routilux.v1"  # never the key
            assert await ws.request({"type": "ping"}) == {"type": "pong"}
        for wrong in (subprotocol_key("nope"), "routilux.key.%%%"):
            refused = WsClient(app, subprotocols=["routilux.v1", wrong])
            with pytest.raises(Closed) as closed:
                await refused.open()
            await refused.finished()
            assert closed.value.code == 1008 and not closed.value.accepted


async def test_api_key_query_parameter_is_taken_out_of_the_query_string(
    make_client: AppFactory,
) -> None:
    async with make_client(api_keys=[KEY]) as client:
        ws = WsClient(app_of(client), [("api_key", KEY), ("flow_id", "pipeline")])
        await ws.open()
        try:
            assert await ws.request({"type": "ping"}) == {"type": "pong"}
        finally:
            await ws.disconnect()


async def test_one_key_cannot_take_every_websocket_slot(make_client: AppFactory) -> None:
    keys = ["first-key", "second-key"]
    async with make_client(api_keys=keys, ws_max_connections_per_key=2) as client:
        app = app_of(client)
        first = {"X-API-Key": "first-key"}
        async with connect(app, headers=first), connect(app, headers=first):
            extra = WsClient(app, headers=first)
            await extra.open()
            closed = await extra.closed_with()
            await extra.finished()
            assert closed.code == 1013 and "for this key" in closed.reason
            async with connect(app, headers={"X-API-Key": "second-key"}) as other:
                assert await other.request({"type": "ping"}) == {"type": "pong"}
        async with connect(app, headers=first) as again:  # slots come back on close
            assert await again.request({"type": "ping"}) == {"type": "pong"}


async def test_a_ping_flood_is_closed_with_1008(make_client: AppFactory) -> None:
    async with make_client(ws_messages_per_second=10) as client:
        ws = WsClient(app_of(client))
        await ws.open()
        for _ in range(200):
            await ws.send_json({"type": "ping"})
        closed = await ws.closed_with()
        await ws.finished()
        assert closed.code == 1008 and "too many messages" in closed.reason
        hub = app_of(client).state.ws_hub
        assert len(hub) == 0 and not hub.messages.storage.events  # nothing kept of it
