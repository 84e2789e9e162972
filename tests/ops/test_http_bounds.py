"""The HTTP and WebSocket layer of a live ``routilux serve`` under attack: huge headers, headers
that never end, connection floods, handshake and ping floods, and keys in the log.

Every socket goes to 127.0.0.1 (from 127.0.0.x source addresses, to be several clients), every
wait has a deadline, and every flood is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live import LiveServer, Servers, live_servers
from tests.poll import until, wait_until

KEY = "live-secret-key-0123456789"
TIMEOUT = 10.0
CHUNK = b"a" * 65_536


def open_socket(server: LiveServer, source: str = "127.0.0.1") -> socket.socket:
    port = int(server.base_url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.settimeout(TIMEOUT)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (reset included), within TIMEOUT."""
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65_536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def health(server: LiveServer, source: str = "127.0.0.2") -> tuple[int, float]:
    """A health check from another client address: its status and how long it took."""
    started = time.perf_counter()
    with open_socket(server, source) as sock:
        sock.sendall(
            b"GET /api/v1/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        response = read_all(sock)
    return status_of(response), time.perf_counter() - started


def rss(server: LiveServer) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


@contextmanager
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


# Each test's server, with the settings the test is about: they start together, ready before
# the first test (one after another, their start-ups took 20 s of this module's 35).
SERVERS: dict[str, dict[str, Any]] = {
    "big_headers": {},
    "header_limit": {"env": {"ROUTILUX_MAX_HEADER_BYTES": "65536"}},
    "header_timeout": {"env": {"ROUTILUX_HEADER_TIMEOUT": "1"}},
    "short_header_timeout": {"env": {"ROUTILUX_HEADER_TIMEOUT": "0.5"}},
    "body_timeout": {"env": {"ROUTILUX_BODY_TIMEOUT": "1"}},
    "half_open": {"env": {"ROUTILUX_HEADER_TIMEOUT": "3"}},
    "connection_bounds": {
        "env": {"ROUTILUX_MAX_CONNECTIONS_PER_CLIENT": "3", "ROUTILUX_MAX_CONNECTIONS": "5"}
    },
    "websocket_slots": {"env": {"ROUTILUX_MAX_CONNECTIONS_PER_CLIENT": "2"}},
    "handshake_flood": {
        "env": {"ROUTILUX_RATE_LIMIT_PER_SECOND": "5", "ROUTILUX_RATE_LIMIT_BURST": "5"},
        "log_level": "info",
    },
    "ping_flood": {},
    "key_log_text": {"api_key": KEY, "log_level": "info"},
    "key_log_json": {"api_key": KEY, "env": {"ROUTILUX_LOG_JSON": "true"}, "log_level": "info"},
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with live_servers(tmp_path_factory.mktemp("http-bounds"), SERVERS) as started:
        yield started


# -- headers -----------------------------------------------------------------------------------


def test_100_mb_headers_are_refused_with_431_at_once_and_memory_stays_flat(
    servers: Servers,
) -> None:
    with servers.use("big_headers") as server:
        before = rss(server)
        for _ in range(6):  # once: 6 x 100 MB held by the server before its 401
            with open_socket(server) as sock:
                started = time.perf_counter()
                sock.sendall(b"GET /api/v1/flows HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
                sent = 0
                try:
                    while sent < 100_000_000:
                        sock.sendall(CHUNK)
                        sent += len(CHUNK)
                except OSError:
                    pass  # the server closed the connection: what it refused is still unsent
                response = read_all(sock)
                elapsed = time.perf_counter() - started
            # What the kernel's socket buffers take in before the server's close arrives, at most.
            assert sent < 16_000_000, sent
            assert elapsed < 5, elapsed
            assert status_of(response) in (431, 0)  # 0: a reset arrived before it was read
        assert rss(server) - before < 40_000_000
        assert health(server)[0] == 200


def test_headers_just_under_the_limit_are_served(servers: Servers) -> None:
    with servers.use("header_limit") as server:
        big = "b" * 60_000
        response = httpx.get(
            f"{server.base_url}/api/v1/health/live", headers={"X-Big": big}, trust_env=False
        )
        assert response.status_code == 200
        with open_socket(server) as sock:
            sock.sendall(
                b"GET /api/v1/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                + b"b" * 70_000
                + b"\r\n\r\n"
            )
            refused = read_all(sock)
        assert status_of(refused) == 431
        assert b'"code":"headers_too_large"' in refused


def test_unfinished_headers_get_408_and_a_silent_connection_is_closed(servers: Servers) -> None:
    with servers.use("header_timeout") as server:
        with open_socket(server) as partial, open_socket(server) as silent:
            started = time.perf_counter()
            partial.sendall(b"GET /api/v1/flows HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            response = read_all(partial)
            first = time.perf_counter() - started
            nothing = read_all(silent)
            second = time.perf_counter() - started
        assert status_of(response) == 408 and b'"code":"header_timeout"' in response
        assert 0.8 < first < 4, first
        assert nothing == b"" and second < 4, second
        # A slow trickle does not reset the clock: it runs from the request's first byte.
        with open_socket(server) as trickle:
            started = time.perf_counter()
            for part in (b"GET /api/v1/flows HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"X-A: b\r\n"):
                try:
                    trickle.sendall(part)
                except OSError:
                    break
                time.sleep(0.4)  # the trickle itself: one header every 0.4 s
            response = read_all(trickle)
            elapsed = time.perf_counter() - started
        assert status_of(response) in (408, 0) and elapsed < 4, elapsed


def test_a_kept_alive_connection_idle_past_the_header_timeout_is_still_served(
    servers: Servers,
) -> None:
    """The header clock runs from a request's first byte: an idle kept-alive connection is the
    keep-alive timeout's (15 s) to close, not the header timeout's."""
    with servers.use("short_header_timeout") as server:
        with open_socket(server) as sock:
            request = b"GET /api/v1/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            sock.sendall(request)
            assert status_of(sock.recv(65_536)) == 200
            time.sleep(1.5)  # the idleness under test (three header timeouts), not a wait
            sock.sendall(request + request[:-2] + b"Connection: close\r\n\r\n")
            answers = read_all(sock)
        assert answers.count(b"HTTP/1.1 200 ") == 2, answers


def test_a_body_that_does_not_arrive_gets_408(servers: Servers) -> None:
    with servers.use("body_timeout") as server:
        with open_socket(server) as slow:
            started = time.perf_counter()
            slow.sendall(
                b"POST /api/v1/flows HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            response = read_all(slow)
            elapsed = time.perf_counter() - started
        assert status_of(response) == 408 and b'"code":"body_timeout"' in response
        assert 0.8 < elapsed < 4, elapsed
        # A body that arrives in time is served as ever, on a connection kept alive after it.
        with httpx.Client(base_url=server.base_url, trust_env=False) as client:
            flow = {"flow_id": "wait", "routines": {"d": {"class": "Delay", "config": {}}}}
            assert client.post("/api/v1/flows", json=flow).status_code == 201
            assert client.get("/api/v1/flows/wait").status_code == 200


def test_half_open_connections_cannot_exhaust_the_server(servers: Servers) -> None:
    """Once, 21,000 half-open connections took every descriptor and health checks were reset."""
    with servers.use("half_open") as server, sockets() as opened:
        for _ in range(400):
            sock = open_socket(server)
            sock.sendall(b"GET /api/v1/flows HTTP/1.1\r\n")  # and never the rest
            opened.append(sock)
        # 256 from one address at most: the others are refused at once, with 503.
        refused = 0
        for sock in opened[256:]:
            response = read_all(sock)
            refused += status_of(response) == 503 and b"too_many_connections" in response
        assert refused == 144
        status, seconds = health(server)  # another client is served meanwhile, and quickly
        assert status == 200 and seconds < 1, seconds
        # Then the header timeout closes every one of them.
        closed = sum(status_of(read_all(sock)) in (408, 0) for sock in opened[:256])
        assert closed == 256
        assert health(server, "127.0.0.1")[0] == 200  # the address has its slots back


def test_connections_are_bounded_per_address_and_in_total(servers: Servers) -> None:
    with servers.use("connection_bounds") as server, sockets() as opened:
        opened.extend(open_socket(server, "127.0.0.3") for _ in range(3))
        with open_socket(server, "127.0.0.3") as fourth:
            response = read_all(fourth)
        assert status_of(response) == 503 and b"this address" in response
        opened.extend(open_socket(server, "127.0.0.4") for _ in range(2))
        with open_socket(server, "127.0.0.5") as sixth:
            response = read_all(sixth)
        assert status_of(response) == 503 and b"the server has 5" in response
        assert b"retry-after: 1" in response.lower()
        for sock in opened:
            sock.close()
        opened.clear()
        # The slots come back as the connections close.
        wait_until(
            lambda: health(server, "127.0.0.3")[0] == 200,
            timeout=TIMEOUT,
            interval=0,
            what="the address's slots back",
        )


async def test_a_websocket_keeps_its_slot_until_it_closes(servers: Servers) -> None:
    with servers.use("websocket_slots") as server:
        url = f"{server.ws_url}/api/v1/ws/events"
        async with connect(url, proxy=None), connect(url, proxy=None):
            third = await asyncio.to_thread(health, server, "127.0.0.1")
            assert third[0] == 503

        async def given_back() -> bool:
            return (await asyncio.to_thread(health, server, "127.0.0.1"))[0] == 200

        await until(given_back, timeout=TIMEOUT, interval=0, what="the WebSockets' slots back")


# -- WebSocket floods --------------------------------------------------------------------------


async def test_a_websocket_handshake_flood_is_429(servers: Servers) -> None:
    with servers.use("handshake_flood") as server:
        url = f"{server.ws_url}/api/v1/ws/events"
        accepted = limited = 0
        started = time.perf_counter()
        for _ in range(100):  # once: 100 handshakes in 0.11 s, at a limit of 5 a second
            try:
                async with connect(url, proxy=None, open_timeout=TIMEOUT):
                    accepted += 1
            except InvalidStatus as exc:
                assert exc.response.status_code == 429
                assert int(exc.response.headers["Retry-After"]) >= 1
                limited += 1
        elapsed = time.perf_counter() - started
        assert accepted <= 5 + 5 * elapsed + 1 and limited >= 80, (accepted, limited, elapsed)
    assert "without completing handshake" not in server.log()


async def test_a_ping_flood_is_closed_and_health_stays_fast(servers: Servers) -> None:
    with servers.use("ping_flood") as server:
        url = f"{server.ws_url}/api/v1/ws/events"

        async def flood() -> int | None:
            async with connect(url, proxy=None, ping_interval=None, max_queue=None) as ws:
                try:
                    async with asyncio.timeout(TIMEOUT):
                        while True:
                            await ws.send('{"type": "ping"}')
                            await asyncio.sleep(0)  # let the other floods (and checks) run
                except ConnectionClosed:
                    pass
                await ws.wait_closed()
                return ws.close_code

        floods = [asyncio.create_task(flood()) for _ in range(4)]
        latencies = []
        while not all(task.done() for task in floods):
            latencies.append((await asyncio.to_thread(health, server))[1])
        codes = await asyncio.gather(*floods)
        # Once: 4 flooding connections pushed health latency to 2.8 s, for as long as they lasted.
        assert codes == [1008] * 4
        assert max(latencies) < 0.5, latencies


# -- no key in the log -------------------------------------------------------------------------


@pytest.mark.parametrize("json_logs", [False, True])
async def test_the_key_never_appears_in_the_server_log(servers: Servers, json_logs: bool) -> None:
    encoded = base64.urlsafe_b64encode(KEY.encode()).decode().rstrip("=")
    wrong = "wrong-" + KEY
    with servers.use("key_log_json" if json_logs else "key_log_text") as server:
        url = f"{server.ws_url}/api/v1/ws/events"
        async with connect(f"{url}?api_key={KEY}&types=job.completed", proxy=None) as ws:
            await ws.send('{"type": "ping"}')
            assert "pong" in str(await ws.recv())
        offered = ["routilux.v1", f"routilux.key.{encoded}"]
        async with connect(url, proxy=None, subprotocols=offered) as ws:  # type: ignore[arg-type]
            assert ws.subprotocol == "routilux.v1"
        with pytest.raises(InvalidStatus):
            async with connect(f"{url}?api_key={wrong}", proxy=None):
                pass
        async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as client:
            await client.get(f"/api/v1/flows?api_key={KEY}", headers={"X-API-Key": KEY})
            await client.get("/api/v1/flows", headers={"X-API-Key": wrong})
    log = server.log()  # the server has stopped: every line is written
    assert "WS /api/v1/ws/events 101" in log or '"message":"WS /api/v1/ws/events 101' in log
    for secret in (KEY, encoded, wrong):
        assert secret not in log, log
