"""The console in a real browser, against a live server: a user's path through every page.

Each test saves screenshots under ``artifacts/console/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from tests.browser.conftest import ARTIFACTS, TIMEOUT_MS
from tests.live import LiveServer, live_server, start_server, stop_server

SHOTS = ARTIFACTS / "console"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

GREET_YAML = """\
flow_id: greet
name: Greetings
routines:
  shape:  {class: Mapper, config: {mappings: {name: user.name, age: age}}}
  adults: {class: Filter, config: {condition: "data.age >= 18"}}
connections:
  - {from: shape.output, to: adults.input}
"""

BROKEN_YAML = """\
flow_id: broken
routines:
  shape:
    class: Mapper
    config: {mappings: {name: user.name}}
  adults:
    klass: Filter
"""

SLOW: dict[str, Any] = {
    "flow_id": "slow",
    "routines": {"wait": {"class": "Delay", "config": {"seconds": 30}}},
}


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=full_page)


@pytest.fixture
def desk(page: Page) -> Page:
    page.set_viewport_size(DESKTOP)
    return page


def api(server: LiveServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{server.base_url}/api/v1{path}", headers=server.headers(), timeout=10, **kwargs
    )


def ensure_flow(server: LiveServer, flow: dict[str, Any]) -> None:
    response = api(server, "POST", "/flows", json=flow)
    assert response.status_code in (201, 409), response.text


def job_id_of(page: Page) -> str:
    match = re.search(r"/ui/jobs/([^/?#]+)$", page.url)
    assert match, page.url
    return match[1]


def test_create_flow_from_yaml_see_its_graph_and_errors_at_the_line(
    server: LiveServer, desk: Page
) -> None:
    page = desk
    page.goto(server.base_url + "/")
    expect(page.get_by_role("heading", name="Flows")).to_be_visible()
    page.get_by_role("link", name="New flow").click()

    # The server's 422, at the line it names.
    page.get_by_label("Flow document (YAML or JSON)").fill(BROKEN_YAML)
    page.get_by_role("button", name="Create flow").click()
    errors = page.locator("#flow-errors li")
    expect(errors.first).to_be_visible()
    expect(page.locator('#flow-errors li[data-line="7"]')).to_contain_text("routines.adults")
    expect(page.locator(".gutter .bad").filter(has_text=re.compile(r"^7$"))).to_have_count(1)
    expect(page.get_by_label("Flow document (YAML or JSON)")).to_have_attribute(
        "aria-invalid", "true"
    )
    shot(page, "flow-create-errors")

    page.get_by_label("Flow document (YAML or JSON)").fill(GREET_YAML)
    page.get_by_role("button", name="Create flow").click()
    expect(page).to_have_url(re.compile(r"/ui/flows/greet$"))
    graph = page.get_by_role("group", name="Graph of flow greet")
    expect(graph.locator('[data-routine="shape"]')).to_contain_text("Mapper")
    expect(graph.locator('[data-routine="adults"]')).to_contain_text("Filter")
    expect(graph.locator('[data-routine="shape"] .entry-mark')).to_be_visible()
    expect(graph.locator('[data-routine="adults"] .entry-mark')).to_have_count(0)
    expect(graph.locator('[data-edge="shape->adults"]')).to_contain_text("output → input")
    expect(page.get_by_label("Flow document in YAML")).to_contain_text("class: Mapper")
    shot(page, "flow")

    # The list finds it by search.
    page.get_by_role("link", name="Flows", exact=True).click()
    page.get_by_label("Search flows").fill("Greetings")
    expect(page.get_by_role("link", name="greet", exact=True)).to_be_visible()
    page.get_by_label("Search flows").fill("no-such-thing")
    expect(page.get_by_role("link", name="greet", exact=True)).to_have_count(0)
    page.get_by_label("Search flows").fill("")
    shot(page, "flows")


def test_run_from_the_flow_page_and_watch_the_job_complete_live(
    server: LiveServer, desk: Page, browser: BrowserContext
) -> None:
    page = desk
    ensure_flow(server, {"flow_id": "greet2", **_greet_body()})
    # A second page follows the jobs list live while the first one runs the flow.
    jobs = browser.new_page()
    jobs.set_viewport_size(DESKTOP)
    jobs.goto(f"{server.base_url}/ui/jobs?flow_id=greet2")
    expect(jobs.get_by_role("status").filter(has_text="Live")).to_be_visible()
    # The page worked in goes to the front: Chromium throttles a background tab's animation
    # frames, which each click waits for (2 s a click), while the list updates live behind it.
    page.bring_to_front()

    page.goto(f"{server.base_url}/ui/flows/greet2")
    # A server error at the field: metadata must be an object of the right shape.
    page.get_by_label("Input (JSON)").fill('{"user": {"name": "Ada"}, "age": 36')
    page.get_by_role("button", name="Run flow").click()
    expect(page.locator("#run-input-error")).to_contain_text("not valid JSON")
    page.get_by_label("Input (JSON)").fill('{"user": {"name": "Ada"}, "age": 36}')
    page.get_by_label("Metadata (JSON, optional)").fill('{"source": "console"}')
    page.get_by_role("button", name="Run flow").click()
    expect(page).to_have_url(re.compile(r"/ui/jobs/job_"))
    job_id = job_id_of(page)
    expect(page.locator("h1 .status")).to_have_text("completed")
    expect(page.locator('[data-routine="adults"]')).to_have_attribute("data-status", "completed")
    expect(page.get_by_label("Job output")).to_contain_text('"Ada"')
    expect(page.locator('.timeline li[data-type="job.completed"]')).to_have_count(1)
    shot(page, "job-completed")

    # The list got the new job, and its status changed without a reload.
    row = jobs.locator(f'tr[data-job="{job_id}"]')
    expect(row.locator(".status")).to_have_text("completed")
    # A job started elsewhere appears, and completes, on the open list.
    other = api(server, "POST", "/flows/greet2/execute", json={"data": {"age": 20}}).json()
    expect(jobs.locator(f'tr[data-job="{other["job_id"]}"] .status')).to_have_text("completed")
    shot(jobs, "jobs")
    jobs.close()


def _greet_body() -> dict[str, Any]:
    return {
        "routines": {
            "shape": {
                "class": "Mapper",
                "config": {"mappings": {"name": "user.name", "age": "age"}},
            },
            "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
        },
        "connections": [{"from": "shape.output", "to": "adults.input"}],
    }


def test_breakpoint_from_the_graph_pauses_a_job_with_its_payload_then_resume(
    server: LiveServer, desk: Page
) -> None:
    page = desk
    ensure_flow(server, {"flow_id": "debug", **_greet_body()})
    page.goto(f"{server.base_url}/ui/flows/debug")
    node = page.locator('[data-routine="adults"]')
    node.focus()
    page.keyboard.press("Enter")  # the graph is usable from the keyboard
    condition = page.get_by_label("Condition (CEL over data, optional)")
    # A server error at the field: the server checks the CEL condition.
    condition.fill("data.age >")
    page.get_by_role("button", name="Set breakpoint").click()
    expect(page.locator("#bp-condition-error")).not_to_be_empty()
    expect(condition).to_have_attribute("aria-invalid", "true")
    shot(page, "breakpoint-condition-error")
    condition.fill("data.age > 60")
    page.get_by_role("button", name="Set breakpoint").click()
    expect(node.locator(".bp-mark")).to_be_visible()

    page.get_by_label("Input (JSON)").fill('{"user": {"name": "Old"}, "age": 70}')
    page.get_by_role("button", name="Run flow").click()
    expect(page).to_have_url(re.compile(r"/ui/jobs/job_"))
    job_id = job_id_of(page)
    expect(page.locator("h1 .status")).to_have_text("paused")
    paused = page.locator("#paused")
    expect(paused).to_contain_text("adults.input")
    expect(paused.get_by_label("Payload at the breakpoint")).to_contain_text('"Old"')
    expect(page.locator('[data-routine="adults"]')).to_have_class(re.compile("paused-here"))
    shot(page, "job-paused")

    # The breakpoints page lists it, with the payload; resume it from there.
    page.get_by_role("link", name="Breakpoints").click()
    waiting = page.locator(f'li[data-job="{job_id}"]')
    expect(waiting.get_by_label(f"Payload of job {job_id}")).to_contain_text('"age": 70')
    shot(page, "breakpoints")
    waiting.get_by_role("button", name=f"Resume job {job_id}").click()
    expect(waiting).to_have_count(0)
    assert api(server, "GET", f"/jobs/{job_id}").json()["status"] in ("running", "completed")

    # A second job pauses; resume it from its own page, which turns completed live.
    job = api(server, "POST", "/flows/debug/execute", json={"data": {"age": 80}}).json()
    page.goto(f"{server.base_url}/ui/jobs/{job['job_id']}")
    expect(page.locator("h1 .status")).to_have_text("paused")
    page.get_by_role("button", name="Resume job").click()
    expect(page.locator("h1 .status")).to_have_text("completed")
    expect(page.locator("#paused")).to_have_count(0)

    # Delete the breakpoint from the list.
    page.goto(f"{server.base_url}/ui/breakpoints")
    page.get_by_role("button", name="Delete breakpoint before adults").click()
    expect(page.get_by_text("No breakpoints.")).to_be_visible()


def test_cancel_a_slow_job(server: LiveServer, desk: Page) -> None:
    page = desk
    ensure_flow(server, SLOW)
    page.goto(f"{server.base_url}/ui/flows/slow")
    page.get_by_role("button", name="Run flow").click()
    expect(page).to_have_url(re.compile(r"/ui/jobs/job_"))
    expect(page.locator("h1 .status")).to_have_text("running")
    expect(page.locator('[data-routine="wait"]')).to_have_attribute("data-status", "running")
    shot(page, "job-running")
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("h1 .status")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    shot(page, "job-cancelled")


def test_pause_and_resume_a_worker(server: LiveServer, desk: Page) -> None:
    page = desk
    ensure_flow(server, {"flow_id": "workers-demo", **_greet_body()})
    # A flow's worker starts with its first job.
    api(server, "POST", "/flows/workers-demo/execute", json={"data": {"age": 1}})
    page.goto(f"{server.base_url}/ui/workers")
    row = page.locator("tr", has=page.get_by_role("link", name="workers-demo", exact=True))
    row.get_by_role("button", name="Pause worker of workers-demo").click()
    expect(row.locator(".status")).to_have_text("paused")
    shot(page, "workers")
    row.get_by_role("button", name="Resume worker of workers-demo").click()
    expect(row.locator(".status")).not_to_have_text("paused")


def test_routine_types_catalog(server: LiveServer, desk: Page) -> None:
    page = desk
    page.goto(f"{server.base_url}/ui/routine-types")
    mapper = page.locator("article", has=page.get_by_role("heading", name=re.compile("^Mapper")))
    expect(mapper).to_contain_text("Slots")
    mapper.get_by_text("Config schema").click()
    expect(mapper.get_by_label("Config schema of Mapper")).to_contain_text("mappings")
    shot(page, "routine-types")


def test_job_page_on_a_phone(server: LiveServer, page: Page) -> None:
    ensure_flow(server, {"flow_id": "phone", **_greet_body()})
    job = api(server, "POST", "/flows/phone/execute", json={"data": {"age": 40}}).json()
    page.set_viewport_size(PHONE)
    page.goto(f"{server.base_url}/ui/jobs/{job['job_id']}")
    expect(page.locator("h1 .status")).to_have_text("completed")
    # Nothing is wider than the screen but the graph and tables, which scroll inside themselves.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shot(page, "job-phone")
    for path, name in [
        ("/ui/flows", "flows-phone"),
        ("/ui/flows/phone", "flow-phone"),
        ("/ui/jobs", "jobs-phone"),
        ("/ui/breakpoints", "breakpoints-phone"),
        ("/ui/workers", "workers-phone"),
    ]:
        page.goto(f"{server.base_url}{path}")
        expect(page.locator("main h1")).to_be_visible()
        expect(page.get_by_text("Loading…")).to_have_count(0)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        shot(page, name)


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("console-keyed"), api_key="console-key") as server:
        yield server


def test_with_an_api_key_the_console_asks_once_and_streams_live(
    keyed_server: LiveServer, desk: Page
) -> None:
    server, page = keyed_server, desk
    ensure_flow(server, {"flow_id": "keyed", **_greet_body()})
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{server.base_url}/")
    # Behind the dialog, nothing claims the server has no flows before the key is known.
    expect(page.get_by_text("No flows yet")).to_have_count(0)
    dialog = page.get_by_role("dialog", name="API key needed")
    page.get_by_label("API key", exact=True).fill("wrong")
    page.get_by_role("button", name="Use key").click()
    expect(dialog).to_contain_text("refused that key")
    shot(page, "api-key")
    page.get_by_label("API key", exact=True).fill("console-key")
    page.get_by_role("button", name="Use key").click()
    expect(page.get_by_role("link", name="keyed", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('routilux.apiKey')") == "console-key"
    expect(page.get_by_role("button", name="Forget key")).to_be_visible()

    # Other pages reuse the key: no second question; the WebSocket is let in too.
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    job = api(server, "POST", "/flows/keyed/execute", json={"data": {"age": 50}}).json()
    expect(page.locator(f'tr[data-job="{job["job_id"]}"] .status')).to_have_text("completed")
    expect(dialog).to_have_count(0)
    # The key went as a subprotocol, never in a URL.
    assert sockets and not [url for url in sockets if "console-key" in url or "api_key" in url]


def test_server_restart_the_stream_reconnects_and_resumes(
    tmp_path: Path, desk: Page, browser: BrowserContext
) -> None:
    page = desk
    server = start_server(tmp_path / "data")
    job_page = browser.new_page()
    try:
        ensure_flow(server, {"flow_id": "restart", **_greet_body()})
        ensure_flow(server, SLOW)
        # A job's page, following a job that the restart interrupts.
        slow = api(server, "POST", "/flows/slow/execute", json={"data": {}}).json()
        job_page.goto(f"{server.base_url}/ui/jobs/{slow['job_id']}")
        expect(job_page.locator("h1 .status")).to_have_text("running")
        page.bring_to_front()  # the list in front: a background tab's timers are throttled
        page.goto(f"{server.base_url}/ui/jobs")
        live = page.get_by_role("status").filter(has_text=re.compile("Live|connect"))
        expect(live).to_have_text("Live")
        port = int(server.base_url.rsplit(":", 1)[1])
        stop_server(server)
        expect(live).to_have_text("Reconnecting…")
        server = start_server(tmp_path / "data", port=port)
        expect(live).to_have_text("Live", timeout=TIMEOUT_MS * 2)
        job = api(server, "POST", "/flows/restart/execute", json={"data": {"age": 30}}).json()
        expect(page.locator(f'tr[data-job="{job["job_id"]}"] .status')).to_have_text("completed")
        # The job's page resumed after the last event it had: what happened to the job while it
        # was away arrives, and nothing it had already shows twice.
        after = api(server, "GET", f"/jobs/{slow['job_id']}").json()
        expect(job_page.locator("h1 .status")).to_have_text(after["status"])
        expect(job_page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        expect(job_page.locator('.timeline li[data-type="job.queued"]')).to_have_count(1)
        expect(job_page.locator('.timeline li[data-type="job.started"]')).to_have_count(1)
        shot(job_page, "job-after-restart")
        print(after["status"], after["error"])
    finally:
        job_page.close()
        stop_server(server)


def test_a_failed_job_shows_its_error_and_outlines_the_failing_routine(
    server: LiveServer, desk: Page
) -> None:
    page = desk
    flow = {
        "flow_id": "failing",
        "routines": {
            "shape": {"class": "Mapper", "config": {"mappings": {"age": "age"}}},
            "boom": {"class": "Fail", "config": {"message": "no such customer"}},
        },
        "connections": [{"from": "shape.output", "to": "boom.input"}],
    }
    ensure_flow(server, flow)
    job = api(server, "POST", "/flows/failing/execute", json={"data": {"age": 5}}).json()
    page.goto(f"{server.base_url}/ui/jobs/{job['job_id']}")
    expect(page.locator("h1 .status")).to_have_text("failed")
    expect(page.locator("#job-error")).to_contain_text("no such customer")
    expect(page.locator("#job-error")).to_contain_text("boom")
    boom = page.locator('[data-routine="boom"]')
    expect(boom).to_have_class(re.compile("failed-here"))
    expect(boom).to_have_attribute("data-status", "failed")
    expect(page.locator('[data-routine="shape"]')).to_have_attribute("data-status", "completed")
    shot(page, "job-failed")


def test_first_page_is_interactive_within_a_second(server: LiveServer, desk: Page) -> None:
    page = desk
    ensure_flow(server, {"flow_id": "first-page", **_greet_body()})
    page.goto(f"{server.base_url}/ui/routine-types")  # warm the browser's process, not its cache
    started = time.perf_counter()
    page.goto(f"{server.base_url}/", wait_until="commit")
    expect(page.get_by_role("link", name="first-page", exact=True)).to_be_visible()
    page.get_by_label("Search flows").fill("first")  # it answers input
    expect(page.get_by_role("link", name="first-page", exact=True)).to_be_visible()
    elapsed = time.perf_counter() - started
    print(f"first page interactive after {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0, elapsed


def test_jobs_list_pages_with_a_cursor_and_filters_by_status(
    server: LiveServer, desk: Page
) -> None:
    page = desk
    ensure_flow(server, {"flow_id": "many", **_greet_body()})
    for age in range(55):
        assert api(server, "POST", "/flows/many/execute", json={"data": {"age": age}}).is_success
    page.goto(f"{server.base_url}/ui/jobs?flow_id=many")
    rows = page.locator("table.jobs tbody tr")
    expect(page.get_by_text("55 jobs · page 1")).to_be_visible()
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("55 jobs · page 2")).to_be_visible()
    expect(rows).to_have_count(5)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(50)
    page.get_by_role("checkbox", name="cancelled").check()
    expect(page.get_by_text("0 jobs · page 1")).to_be_visible()
    expect(rows).to_have_count(0)
    page.get_by_role("checkbox", name="cancelled").uncheck()
    expect(rows).to_have_count(50)
    page.get_by_label("Created after").fill("2999-01-01T00:00:00")
    expect(page.get_by_text("0 jobs · page 1")).to_be_visible()
    page.get_by_label("Created after").fill("")
    page.get_by_label("Created before").fill("2999-01-01T00:00:00")
    expect(page.get_by_text("55 jobs · page 1")).to_be_visible()


def test_a_200_routine_flow_graph_stays_legible(server: LiveServer, desk: Page) -> None:
    page = desk
    # 20 branches of 10 routines each, fanned out from one entry.
    routines: dict[str, Any] = {"start": {"class": "Identity"}}
    connections = []
    for branch in range(20):
        previous = "start"
        for step in range(9 if branch == 0 else 10):
            name = f"b{branch}_s{step}"
            routines[name] = {"class": "Identity"}
            connections.append({"from": f"{previous}.output", "to": f"{name}.input"})
            previous = name
    assert len(routines) == 200
    ensure_flow(server, {"flow_id": "big", "routines": routines, "connections": connections})
    started = time.perf_counter()
    page.goto(f"{server.base_url}/ui/flows/big")
    nodes = page.locator(".graph [data-routine]")
    expect(nodes).to_have_count(200)
    print(f"200-routine graph drawn after {(time.perf_counter() - started) * 1000:.0f} ms")
    boxes = nodes.evaluate_all(
        "els => els.map(e => { const r = e.querySelector('rect.box').getBoundingClientRect();"
        " const t = e.querySelector('.rid').getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom, t.height]; })"
    )
    # No two routines overlap, and their names are drawn at a readable size.
    for i, (left, top, right, bottom, _) in enumerate(boxes):
        for other in boxes[i + 1 :]:
            assert right <= other[0] or other[2] <= left or bottom <= other[1] or other[3] <= top
    assert min(box[4] for box in boxes) >= 9, min(box[4] for box in boxes)
    # Every routine can be reached: the graph scrolls within its pane.
    last = page.locator('.graph [data-routine="b19_s9"]')
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
    shot(page, "flow-200-routines", full_page=False)


def test_delete_a_flow(server: LiveServer, desk: Page) -> None:
    page = desk
    ensure_flow(server, {"flow_id": "doomed", **_greet_body()})
    page.goto(f"{server.base_url}/ui/flows/doomed")
    page.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("alertdialog", name="Delete flow doomed?")
    confirm.get_by_role("button", name="Delete for good").click()
    expect(page).to_have_url(re.compile(r"/ui/flows$"))
    expect(page.get_by_role("link", name="doomed", exact=True)).to_have_count(0)
    assert api(server, "GET", "/flows/doomed").status_code == 404


def test_search_covers_flows_beyond_the_first_page(server: LiveServer, desk: Page) -> None:
    page = desk
    with httpx.Client(base_url=f"{server.base_url}/api/v1", timeout=10) as client:
        for number in range(205):  # the list loads 200 a page
            body = {"flow_id": f"bulk-{number:03d}", **_greet_body()}
            assert client.post("/flows", json=body).status_code in (201, 409)
    page.goto(f"{server.base_url}/ui/flows")
    links = page.get_by_role("link", name=re.compile(r"^bulk-\d+$"))
    expect(links).to_have_count(200)  # the first page
    page.get_by_label("Search flows").fill("bulk-")
    expect(links).to_have_count(205)  # the search loaded the rest
