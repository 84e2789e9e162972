"""The console: served at ``/`` and under ``/ui/`` without a key, outside the OpenAPI schema, and
shipped as a build that matches its sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from routilux.server.console import CONSOLE_DIR
from tests.server.conftest import AppFactory

ROOT = Path(__file__).resolve().parents[2]


def recorded_and_current_hash() -> tuple[str, str]:
    spec = importlib.util.spec_from_file_location("console_hash", ROOT / "scripts/console_hash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current: str = module.source_hash(ROOT)
    return (CONSOLE_DIR / "BUILD_HASH").read_text().strip(), current


def test_shipped_console_is_built_from_the_current_sources() -> None:
    recorded, current = recorded_and_current_hash()
    assert recorded == current, (
        "console/ (or its lockfile, or openapi.json) changed since the console was built: "
        "run scripts/build_console and commit server/routilux/console/"
    )


async def test_console_page_at_root_and_client_routes_without_a_key(
    make_client: AppFactory,
) -> None:
    async with make_client(api_keys=["s3cret"]) as client:
        for path in ("/", "/ui/", "/ui/flows", "/ui/jobs/job_123", "/ui/flows/greet/edit"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["cache-control"] == "no-cache"
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert '<div id="app">' in response.text
        head = await client.head("/")
        assert head.status_code == 200
        # The data stays behind the key.
        assert (await client.get("/api/v1/flows")).status_code == 401
        assert (await client.post("/")).status_code == 401


async def test_console_assets_are_cached_for_long_and_only_built_names_served(
    make_client: AppFactory,
) -> None:
    async with make_client(api_keys=["s3cret"]) as client:
        page = (await client.get("/")).text
        names = [p.name for p in (CONSOLE_DIR / "assets").iterdir()]
        assert names and all(f"/ui/assets/{name}" in page for name in names)
        for name in names:
            response = await client.get(f"/ui/assets/{name}")
            assert response.status_code == 200
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.content == (CONSOLE_DIR / "assets" / name).read_bytes()
        assert (await client.get("/ui/assets/missing.js")).status_code == 404
        assert (await client.get("/ui/assets/..%2F..%2F__init__.py")).status_code == 404


async def test_console_routes_are_outside_the_openapi_schema(make_client: AppFactory) -> None:
    async with make_client() as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert paths and not [p for p in paths if p == "/" or p.startswith("/ui")]
