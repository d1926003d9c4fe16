"""Data team in Chromium: review queue → accept → export → a later change returns the case."""
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from helpline.cases.models import Case
from helpline.cases.services import add_note, create_case, mark_ready_for_review
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_review_accept_export_and_update(app, page, live_server):
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    caller = make_contact(handler, first_name="Robert", last_name="Livingstone")
    case = create_case(caller, "Food parcel needed", handler)
    mark_ready_for_review(case, handler)
    db.session.commit()
    sign_in(page, live_server, make_user("data", name="Maggie Evans"))
    page.get_by_role("link", name=re.compile(r"^Awaiting review")).click()
    page.get_by_role("link", name=case.reference).click()
    for box in page.locator("input[name=checklist]").all():
        box.check()
    page.get_by_role("button", name="Accept").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(f"{case.reference} accepted.")
    expect(page.locator("#review-queue")).to_have_count(0)

    page.get_by_role("link", name="Export reviewed cases").click()
    page.get_by_role("button", name="Start export").click()
    expect(page.locator("#export-state")).to_have_text(re.compile("queued|running|done"))
    run_jobs(app)  # the worker's part; the page keeps polling on its own
    expect(page.locator("#export-state")).to_have_text("done")  # the page polled its way here
    expect(page.locator("#export-bar")).to_have_attribute("value", "100")
    page.get_by_role("link", name="Export log").click()
    with page.expect_download() as info:
        page.locator("#export-log").get_by_role("link", name="Download").first.click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == case.reference
    assert "Livingstone" not in text and "Robert" not in text

    # a later change sends it back to the data team, flagged
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    add_note(case, "Caller rang again", handler)
    db.session.commit()
    page.get_by_role("link", name=re.compile(r"^Awaiting review")).click()
    expect(page.locator("#review-queue")).to_contain_text(case.reference)
    expect(page.locator("#review-queue")).to_contain_text("Updated since review")
