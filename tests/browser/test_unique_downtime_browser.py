"""Issue 14 in Chromium, JavaScript off: a Functionally Unique call back from the case
screen, and a downtime application's paper form attached to its request."""
import re

import pytest
from playwright.sync_api import expect

from helpline.cases.services import create_case
from helpline.catcher import read_messages
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_functionally_unique_call_back_without_javascript(app, browser, live_server, smtp):
    seed_lists()
    owner = make_user("supervisor", name="Sam Supervisor")
    contact = make_contact(owner, first_name="Olive", last_name="Jones", phone="07700 900321")
    case = create_case(contact, "Query about a payment", owner)
    db.session.commit()
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/cases/{case.id}")
    page.get_by_role("link", name="Functionally Unique call back").click()
    expect(page.get_by_label("Contact number")).to_have_value("07700 900321")
    page.get_by_label("Time preferences").fill("Weekday mornings")
    page.get_by_label("Reason for the call back").fill("Subject access request")
    page.get_by_role("button", name="Send proforma").click()
    expect(page).to_have_title(re.compile("^Error:"))
    expect(page.locator(".govuk-error-message")).to_contain_text(
        "Choose the Functionally Unique team")
    expect(page.get_by_label("Reason for the call back")).to_have_value("Subject access request")
    page.get_by_label("Functionally Unique team").select_option(label="CSA DPU SARS")
    page.get_by_role("button", name="Send proforma").click()
    expect(page.locator("#case-unique-callbacks")).to_contain_text("CSA DPU SARS")
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"]) if m["to"] == "dpu-sars@example.org"]) == 1
    page.get_by_role("button", name="Done by the team").click()
    expect(page.locator("#case-unique-callbacks")).to_have_count(0)


def test_downtime_paper_form_attached_without_javascript(app, browser, live_server, tmp_path):
    seed_lists()
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    taker = make_user("volunteer", name="Tess Taker", team="Call Back Team")
    page = browser.new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server, taker)
    page.goto(f"{live_server.url}/callback-requests/new")
    page.get_by_label("Full Name").fill("Margaret Evans")
    page.get_by_label("Contact Number").fill("07700 900555")
    page.get_by_label("Call Back Anytime").check()
    page.get_by_label("New Application").check()
    page.get_by_label("Application taken during system downtime").check()
    page.get_by_label("Offline template").select_option("PP Applies GB")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text(
        "Application taken during system downtime (PP Applies GB)")
    bad = tmp_path / "form.pdf"
    bad.write_bytes(b"not really a pdf")
    page.get_by_label("Completed paper form").set_input_files(str(bad))
    page.get_by_role("button", name="Attach").click()
    expect(page.locator(".govuk-error-message")).to_contain_text("must be a PDF, PNG or JPEG")
    good = tmp_path / "scan.png"
    good.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    page.get_by_label("Completed paper form").set_input_files(str(good))
    page.get_by_role("button", name="Attach").click()
    expect(page.locator("#paper-form")).to_contain_text("scan.png")
