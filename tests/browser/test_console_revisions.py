"""Changing a flow in the console: a new revision from its editor, past revisions on its page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_console import DESKTOP, _greet_body, api, ensure_flow, shot
from tests.live import LiveServer


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
