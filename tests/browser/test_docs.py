"""The documentation pages in a real browser: Swagger UI runs requests, ReDoc shows every tag."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.live import LiveServer
from tests.poll import wait_until

FLOW: dict[str, Any] = {
    "flow_id": "browser-demo",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"name": "user.name", "age": "age"}}},
        "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
    },
    "connections": [{"from": "shape.output", "to": "adults.input"}],
}


def wait_finished(server: LiveServer, job_id: str, timeout: float = 10) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = httpx.get(f"{server.base_url}/api/v1/jobs/{job_id}").json()
        return job if job["finished_at"] is not None else None

    return wait_until(finished, timeout=timeout, what=f"job {job_id} finished")


def page_y(locator: Locator, edge: str) -> float:
    """Where an edge (top, bottom) of the element is on the page, scrolling aside."""
    return float(locator.evaluate(f"e => e.getBoundingClientRect().{edge} + window.scrollY"))


def try_it_out(page: Page, operation_id: str, tag: str) -> Locator:
    """Open an operation of Swagger UI and switch it to "Try it out"."""
    operation = page.locator(f"#operations-{tag}-{operation_id}")
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out", exact=True).click()
    return operation


def execute(operation: Locator, body: dict[str, Any]) -> Locator:
    """Put ``body`` in the request body, press Execute, and return the live response's row."""
    operation.locator("textarea.body-param__text").fill(json.dumps(body, indent=2))
    operation.get_by_role("button", name="Execute", exact=True).click()
    return operation.locator(".live-responses-table .response")


def test_swagger_ui_creates_and_executes_a_flow(server: LiveServer, page: Page) -> None:
    page.goto(f"{server.base_url}/docs")
    expect(page.locator(".information-container .title")).to_contain_text("Routilux")

    create = try_it_out(page, "create_flow", "flows")
    created = execute(create, FLOW)
    expect(created.locator(".response-col_status")).to_have_text("201")
    body = created.locator(".response-col_description")
    expect(body).to_contain_text('"flow_id": "browser-demo"')

    run = try_it_out(page, "execute_flow", "flows")
    run.locator('tr[data-param-name="flow_id"] input').fill("browser-demo")
    accepted = execute(run, {"data": {"user": {"name": "Ada"}, "age": 36}})
    expect(accepted.locator(".response-col_status")).to_have_text("202")
    expect(accepted.locator(".response-col_description")).to_contain_text('"job_id": "job_')
    # The request Swagger UI made is the one shown as a curl command.
    expect(run.locator(".curl-command")).to_contain_text("/api/v1/flows/browser-demo/execute")

    # The artifact: the operation, from its header to the live 202 response.
    ARTIFACTS.mkdir(exist_ok=True)
    top, bottom = page_y(run, "top"), page_y(accepted, "bottom")
    page.screenshot(
        path=ARTIFACTS / "swagger-execute.png",
        full_page=True,
        clip={"x": 0, "y": top, "width": 1280, "height": bottom - top + 16},
    )

    # What the page showed is what happened: the job exists and runs to completion.
    text = accepted.locator(".response-col_description").inner_text()
    job_id = re.search(r'"job_id": "([^"]+)"', text)
    assert job_id is not None, text
    job = wait_finished(server, job_id[1])
    assert (job["flow_id"], job["status"]) == ("browser-demo", "completed")
    assert job["output"] == {"adults.passed": [{"name": "Ada", "age": 36}]}


def test_redoc_shows_every_tag(server: LiveServer, page: Page) -> None:
    schema = httpx.get(f"{server.base_url}/openapi.json", timeout=5).json()
    tags = [tag["name"] for tag in schema["tags"]]
    used = {tag for path in schema["paths"].values() for op in path.values() for tag in op["tags"]}
    assert used <= set(tags) and tags

    page.goto(f"{server.base_url}/redoc")
    menu = page.locator(".menu-content")
    for tag in tags:
        entry = menu.locator(f'li[data-item-id="tag/{tag}"]')
        expect(entry).to_be_visible()
        # And the section itself, with its heading, in the document.
        expect(page.locator(f'[id="tag/{tag}"] h2').first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "redoc.png")
