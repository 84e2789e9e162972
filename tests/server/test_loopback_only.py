"""Without API keys the server serves loopback only, whatever starts it: the settings refuse a
non-loopback host, and the gate refuses a request that arrived on a non-loopback local address
(``scope["server"]``), as under ``uvicorn ... --host 0.0.0.0``. Tests never listen off loopback:
that case is an in-process request whose scope names 192.0.2.2 (TEST-NET-1, never reached)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from starlette.types import ASGIApp, Message

from routilux.server import Settings, create_app
from routilux.server.settings import is_loopback
from tests.live import ROOT, LiveServer, _wait_ready, free_port, stop_server
from tests.server.conftest import assert_problem

KEY = "secret-key"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.2", "example.org", ""])
def test_settings_refuse_a_public_host_without_keys(host: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(host=host)
    message = caught.value.errors()[0]["msg"]
    assert f"refusing to listen on {host} without an API key" in message
    assert "ROUTILUX_API_KEYS" in message and "--api-key" in message
    assert Settings(host=host, api_keys=[KEY]).host == host  # keys set: any address


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_settings_accept_loopback_without_keys(host: str) -> None:
    assert Settings(host=host).host == host


def test_settings_from_the_environment_refuse_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTILUX_HOST", "0.0.0.0")
    with pytest.raises(ValidationError, match="ROUTILUX_API_KEYS"):
        Settings()
    monkeypatch.setenv("ROUTILUX_API_KEYS", KEY)
    assert Settings().auth_enabled


def test_is_loopback() -> None:
    assert is_loopback("::ffff:127.0.0.1")  # a dual-stack socket's IPv4 loopback
    assert is_loopback("[::1]")
    assert not is_loopback("::ffff:192.0.2.2")
    assert not is_loopback("test")  # a name counts only when given
    assert is_loopback("test", {"test"})


def _client(app: object, local: str) -> httpx.AsyncClient:
    """Requests that arrived on the local address ``local`` (httpx puts the URL's host in
    scope["server"]); their Host header names localhost, which the Host check accepts."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(
        transport=transport, base_url=f"http://{local}:8000", headers={"Host": "localhost"}
    )


async def test_the_gate_refuses_requests_arriving_off_loopback_without_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    async with app.router.lifespan_context(app):
        async with _client(app, "192.0.2.2") as public:
            with caplog.at_level(logging.WARNING, logger="routilux.server"):
                for path in ("/api/v1/flows", "/api/v1/health/live", "/openapi.json", "/metrics"):
                    response = await public.get(path)
                    assert_problem(response, 403, "api_keys_required")
                    assert "ROUTILUX_API_KEYS" in response.json()["detail"]
            warnings = [r for r in caplog.records if "refusing requests arriving" in r.message]
            assert len(warnings) == 1, "warned once, not per request"
            assert "192.0.2.2" in warnings[0].getMessage()
            mapped = await public.get("http://[::ffff:192.0.2.2]:8000/api/v1/flows")
            assert_problem(mapped, 403, "api_keys_required")
        for local in ("127.0.0.1", "[::1]", "[::ffff:127.0.0.1]"):
            async with _client(app, local) as loopback:
                assert (await loopback.get("/api/v1/flows")).status_code == 200, local


async def _handshake(app: ASGIApp, server: tuple[str, int]) -> list[Message]:
    """A WebSocket handshake that arrived on ``server``; what the app sent back."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": server,
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": "/api/v1/ws/events",
        "raw_path": b"/api/v1/ws/events",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
        "state": {},
    }
    sent: list[Message] = []
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] in ("websocket.accept", "websocket.http.response.body"):
            inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async with asyncio.timeout(10):
        await app(scope, inbox.get, send)
    return sent


async def test_a_websocket_handshake_off_loopback_is_refused(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    async with app.router.lifespan_context(app):
        refused = await _handshake(app, ("192.0.2.2", 8000))
        assert refused[0]["type"] == "websocket.http.response.start"
        assert refused[0]["status"] == 403
        assert b"api_keys_required" in refused[-1]["body"]
        accepted = await _handshake(app, ("127.0.0.1", 8000))
        assert accepted[0]["type"] == "websocket.accept"


async def test_with_keys_any_local_address_is_served(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, api_keys=[KEY]))
    async with app.router.lifespan_context(app):
        async with _client(app, "192.0.2.2") as public:
            assert_problem(await public.get("/api/v1/flows"), 401, "unauthorized")
            keyed = await public.get("/api/v1/flows", headers={"X-API-Key": KEY})
            assert keyed.status_code == 200


@pytest.mark.parametrize(
    "target", ["routilux.server.main:app", "--factory routilux.server.main:create_app"]
)
def test_uvicorn_serves_both_forms_on_loopback(tmp_path: Path, target: str) -> None:
    port = free_port()
    log_path = tmp_path / "uvicorn.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROUTILUX_")},
        "PYTHONPATH": str(ROOT / "server"),
        "ROUTILUX_DATA_DIR": str(tmp_path),
        "ROUTILUX_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "uvicorn", *target.split(), "--host", "127.0.0.1"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    server = LiveServer(f"http://127.0.0.1:{port}", tmp_path, process, log_path)
    try:
        _wait_ready(server, timeout=30)
        assert httpx.get(f"{server.base_url}/api/v1/flows", timeout=5).status_code == 200
    finally:
        stop_server(server)


def test_uvicorn_refuses_to_start_with_a_public_host_setting_and_no_keys(tmp_path: Path) -> None:
    env = {
        "PYTHONPATH": str(ROOT / "server"),
        "PATH": "/usr/bin:/bin",
        "ROUTILUX_HOST": "0.0.0.0",
        "ROUTILUX_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import routilux.server.main as m; m.app"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode != 0
    assert "refusing to listen on 0.0.0.0 without an API key" in result.stderr
