"""The documentation pages as a reader sees them: nothing loaded from elsewhere, a menu of plain
words, each sentence once, and "Try it out" examples that work as they are."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_docs import page_y, try_it_out
from tests.live import LiveServer


def requests_of(page: Page, server: LiveServer, path: str) -> list[str]:
    """Load ``path`` and return every URL elsewhere that the page fetched: requests the content
    policy blocked never reach the network (they fail with ``csp``) and do not count."""
    fetched: list[str] = []
    blocked: list[str] = []
    page.on("requestfinished", lambda request: fetched.append(request.url))
    page.on(
        "requestfailed",
        lambda request: (
            blocked.append(request.url)
            if "csp" in (request.failure or "").lower()
            else fetched.append(request.url)
        ),
    )
    page.goto(f"{server.base_url}{path}", wait_until="networkidle")
    own = urlsplit(server.base_url).netloc
    return [
        url
        for url in fetched
        if urlsplit(url).netloc != own and not url.startswith(("data:", "blob:"))
    ]


def test_redoc_reads_cleanly_and_loads_nothing_from_elsewhere(
    server: LiveServer, page: Page
) -> None:
    failures: list[str] = []
    page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
    elsewhere = requests_of(page, server, "/redoc")
    menu = page.locator(".menu-content")
    expect(menu.get_by_text("Live events over WebSocket")).to_be_visible()
    assert elsewhere == [], elsewhere
    text = menu.inner_text()
    assert "<code>" not in text and "`" not in text, text
    # Operation headings are plain text too, and the first sentence is not repeated under it.
    heading = page.locator("h2", has_text="Get a flow's document and bookkeeping").first
    expect(heading).to_be_visible()
    assert "`" not in heading.inner_text()
    body = page.locator(".api-content").inner_text()
    assert body.count("Routilux runs event-driven workflows") == 1
    assert body.count("Create a flow from a Routilux flow document") == 1
    assert body.count("List flows, newest first") == 1
    # Only the logo the content policy blocked may have complained.
    assert all("redoc.ly" in message for message in failures), failures
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "redoc-intro.png")
    footer = page.get_by_text("API docs by Redocly")
    footer.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "redoc-menu-footer.png", clip=_box(footer, 300))


def _box(locator: Any, height: float) -> Any:
    top = page_y(locator, "top")
    return {"x": 0, "y": max(0.0, top - height + 40), "width": 400, "height": height}


def test_swagger_ui_loads_nothing_from_elsewhere(server: LiveServer, page: Page) -> None:
    assert requests_of(page, server, "/docs") == []
    expect(page.locator(".information-container .title")).to_contain_text("Routilux")


def test_swagger_try_it_out_runs_the_documented_examples(server: LiveServer, page: Page) -> None:
    """The examples as Swagger UI fills them in: create `greet`, run it, add a breakpoint."""
    httpx.delete(f"{server.base_url}/api/v1/flows/greet?force=true", timeout=5)
    page.goto(f"{server.base_url}/docs")
    create = try_it_out(page, "create_flow", "flows")
    filled = json.loads(create.locator("textarea.body-param__text").input_value())
    assert filled["flow_id"] == "greet", filled
    create.get_by_role("button", name="Execute", exact=True).click()
    created_flow = create.locator(".live-responses-table .response .response-col_status")
    expect(created_flow).to_have_text("201")

    run = try_it_out(page, "execute_flow", "flows")
    body: dict[str, Any] = json.loads(run.locator("textarea.body-param__text").input_value())
    assert body == {"data": {"user": {"name": "Ada"}, "age": 36}}, body  # nothing invented
    expect(run.locator('tr[data-param-name="flow_id"] input')).to_have_value("greet")
    run.get_by_role("button", name="Execute", exact=True).click()
    accepted = run.locator(".live-responses-table .response")
    expect(accepted.locator(".response-col_status")).to_have_text("202")

    breakpoint = try_it_out(page, "create_breakpoint", "breakpoints")
    example = json.loads(breakpoint.locator("textarea.body-param__text").input_value())
    assert example == {"flow_id": "greet", "routine_id": "adults"}, example
    breakpoint.get_by_role("button", name="Execute", exact=True).click()
    created = breakpoint.locator(".live-responses-table .response")
    expect(created.locator(".response-col_status")).to_have_text("201")

    ARTIFACTS.mkdir(exist_ok=True)
    top, bottom = page_y(run, "top"), page_y(accepted, "bottom")
    page.screenshot(
        path=ARTIFACTS / "swagger-execute-example.png",
        full_page=True,
        clip={"x": 0, "y": top, "width": 1280, "height": bottom - top + 16},
    )
    listed = httpx.get(f"{server.base_url}/api/v1/breakpoints?flow_id=greet", timeout=5).json()
    for item in listed["items"]:
        httpx.delete(f"{server.base_url}/api/v1/breakpoints/{item['breakpoint_id']}", timeout=5)
