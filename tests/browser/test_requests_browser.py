"""Call-back requests in Chromium: create → allocate → caseworker; the paper form is one A4 page."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from helpline.catcher import read_messages
from helpline.timeutil import london_format, utcnow
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_request_allocation_flow(app, browser, live_server, smtp):
    seed_lists()
    leader = make_user("supervisor", name="Team Leader", email="leader@example.org",
                       team="Call Back Team")
    worker = make_user("volunteer", name="Casey Worker", email="casey@example.org",
                       team="Call Back Team")
    volunteer = make_user("volunteer", name="Vol Unteer", team="Call Back Team")

    page = browser.new_context().new_page()
    sign_in(page, live_server, volunteer)
    page.goto(f"{live_server.url}/callback-requests/new")
    page.get_by_label("Full Name").fill("Margaret Evans")
    page.get_by_label("Contact Number").fill("07700 900555")
    page.get_by_label("When Call Back Required").fill(
        london_format(utcnow() + timedelta(hours=4)))
    page.get_by_label("Existing Case").check()
    page.get_by_label("Payment").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".govuk-caption-m")).to_contain_text("Awaiting Allocation")
    run_jobs(app)
    assert [m for m in read_messages(smtp["dir"]) if m["to"] == "leader@example.org"]

    lead = browser.new_context().new_page()
    sign_in(lead, live_server, leader)
    lead.get_by_role("link", name="Awaiting Allocation").first.click()
    lead.get_by_role("link", name="Margaret Evans").click()
    lead.get_by_label("New Applications Caseworker").select_option(label="Casey Worker")
    lead.get_by_role("button", name="Allocate").click()
    expect(lead.locator(".govuk-caption-m")).to_contain_text("Awaiting Calls")
    run_jobs(app)
    assert [m for m in read_messages(smtp["dir"]) if m["to"] == "casey@example.org"]

    mine = browser.new_context().new_page()
    sign_in(mine, live_server, worker)
    mine.get_by_role("link", name=re.compile("Awaiting Calls")).first.click()
    expect(mine.locator("#requests")).to_contain_text("Margaret Evans")


def test_paper_form_prints_on_one_a4_page(app, page, live_server):
    sign_in(page, live_server, make_user())
    page.goto(f"{live_server.url}/callback-requests/paper")
    expect(page.locator("h1")).to_have_text("Call back request")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the paper form printed on {pages} pages"
