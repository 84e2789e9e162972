"""Newer API features in the console: flow revisions (edit, list, a job's own revision) and
job logs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.test_console import DESKTOP, _greet_body, api, ensure_flow, shot
from tests.live import ROOT, LiveServer, live_server


def test_edit_a_flow_and_see_its_revisions(server: LiveServer, page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    ensure_flow(server, {"flow_id": "edited", **_greet_body()})
    first = api(server, "POST", "/flows/edited/execute", json={"data": {"age": 19}}).json()
    page.goto(f"{server.base_url}/ui/flows/edited")
    page.get_by_role("link", name="Edit").click()
    editor = page.get_by_label("Flow document (YAML or JSON)")
    expect(editor).to_have_value(re.compile("data.age >= 18"))
    editor.fill(editor.input_value().replace("data.age >= 18", "data.age >= 21"))
    page.get_by_role("button", name="Save new revision").click()
    expect(page).to_have_url(re.compile(r"/ui/flows/edited$"))
    expect(page.get_by_label("Flow document in YAML")).to_contain_text("data.age >= 21")
    expect(page.get_by_text("revision 2 · click a routine")).to_be_visible()
    revisions = page.get_by_role("region", name="Revisions")
    expect(revisions.get_by_role("button", name=re.compile("^Revision"))).to_have_count(2)
    revisions.get_by_role("button", name="Revision 1").click()
    expect(revisions.locator("pre")).to_contain_text("data.age >= 18")
    shot(page, "flow-revisions")

    # A job keeps the revision it ran: its page says which, and draws that one.
    page.goto(f"{server.base_url}/ui/jobs/{first['job_id']}")
    expect(page.locator(".meta")).to_contain_text("edited (revision 1)")


def test_a_jobs_page_shows_what_its_routines_logged(tmp_path: Path, page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    # Routines that log (tests/server/test_job_logs.py), loaded by the server under test.
    env = {
        "PYTHONPATH": f"{ROOT / 'server'}{os.pathsep}{ROOT}",
        "ROUTILUX_ROUTINE_MODULES": "tests.server.test_job_logs",
    }
    with live_server(tmp_path, env=env) as server:
        ensure_flow(server, {"flow_id": "talk", "routines": {"talk": {"class": "Talker"}}})
        job = api(server, "POST", "/flows/talk/execute", json={"data": {"name": "Ada"}}).json()
        page.goto(f"{server.base_url}/ui/jobs/{job['job_id']}")
        expect(page.locator("h1 .status")).to_have_text("completed")
        logs = page.get_by_label("Log lines of this job")
        expect(logs).to_contain_text("WARNING")
        expect(logs).to_contain_text("careful with Ada")
        shot(page, "job-logs")


def test_a_flows_page_follows_changes_live(server: LiveServer, page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    ensure_flow(server, {"flow_id": "watched", **_greet_body()})
    page.goto(f"{server.base_url}/ui/flows/watched")
    expect(page.get_by_text("revision 1 · click a routine")).to_be_visible()
    expect(page.get_by_text("No jobs yet.")).to_be_visible()
    # Once its stream is open, a job run elsewhere shows up among its recent jobs.
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    recent = page.get_by_role("region", name="Recent jobs")
    job = api(server, "POST", "/flows/watched/execute", json={"data": {"age": 30}}).json()
    expect(recent.get_by_role("link", name=job["job_id"])).to_be_visible()
    # Someone else saves a new revision: the page redraws it without a reload.
    body = {"flow_id": "watched", **_greet_body()}
    body["routines"]["adults"]["config"]["condition"] = "data.age >= 65"
    assert api(server, "PUT", "/flows/watched", json=body).status_code == 200
    expect(page.get_by_text("revision 2 · click a routine")).to_be_visible()
    expect(page.get_by_label("Flow document in YAML")).to_contain_text("data.age >= 65")
