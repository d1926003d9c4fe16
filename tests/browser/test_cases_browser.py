"""The case screen in real Chromium: inline rows, notes, review; beneficiary quick create."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.factories import make_user

pytestmark = pytest.mark.browser


def new_contact(page, live_server, first="Robert", last="Livingstone"):
    page.goto(live_server.url + "/contacts/new")
    page.get_by_label("Consent given", exact=True).check()
    page.get_by_label("First Name").fill(first)
    page.get_by_label("Last Name").fill(last)
    page.get_by_label("Postcode", exact=True).fill("B1 1AA")
    # Leaving the postcode looks up its area and region; typing the area at the same moment
    # raced the lookup's swap (the field ended "BB"), so let the lookup fill it.
    page.get_by_label("Postcode", exact=True).press("Tab")
    expect(page.get_by_label("Region (Lookup)")).to_have_value("West Midlands")
    expect(page.get_by_label("Postcode (Lookup)")).to_have_value("B")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1, .govuk-error-summary").first).not_to_have_text("New Contact")
    errors = page.locator(".govuk-error-summary")
    assert errors.count() == 0, errors.first.inner_text()
    expect(page.locator("h1")).to_have_text(f"{first} {last}")


def test_case_with_inline_signposts_referrals_notes_and_review(app, page, live_server):
    seed_lists()
    sign_in(page, live_server, make_user("volunteer"))
    new_contact(page, live_server)
    page.get_by_role("link", name="+ New Case").click()
    expect(page.locator("h1")).to_have_text("New Case")
    page.get_by_label("Case Title").fill("Food and prescription")
    url = page.url
    page.get_by_role("button", name="+ New Local Signpost").click()
    page.get_by_role("button", name="+ New Local Signpost").click()
    rows = page.locator(".hl-signpost-row")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_label("Signpost").select_option(label="Food banks")
    rows.nth(1).get_by_label("Signpost").select_option(label="Bereavement")
    page.get_by_role("button", name="+ New Local Referral").click()
    page.get_by_role("button", name="+ New Local Referral").click()
    refs = page.locator(".hl-referral-row")
    expect(refs).to_have_count(2)
    refs.nth(0).get_by_label("Local Response Type").select_option(label="Food")
    expect(refs.nth(0).get_by_label("People in household")).to_be_visible()
    refs.nth(0).get_by_label("People in household").fill("3")
    refs.nth(1).get_by_label("Local Response Type").select_option(label="Transport")
    refs.nth(1).get_by_label("Journey").fill("Home to GP surgery")
    assert page.url == url  # rows were added inline, no page load
    page.get_by_label("Add to Summary Notes").fill("Caller has no food in the house.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("saved")
    expect(page.locator("#notes")).to_contain_text("Caller has no food in the house.")
    expect(page.locator(".hl-signpost-row")).to_have_count(2)
    case_url = page.url
    page.get_by_label("Add to Summary Notes").fill("Food bank will deliver on Friday.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes li").first).to_contain_text("Food bank will deliver on Friday.")
    expect(page.get_by_label("Add to Summary Notes")).to_have_value("")
    assert page.url == case_url
    page.locator("#ready_for_review-group").get_by_label("Yes").check()
    page.get_by_role("button", name="Save & Close").click()
    expect(page.locator("h1")).to_have_text("Robert Livingstone")
    cases = page.locator("#caller-cases")
    expect(cases).to_contain_text("Food and prescription")
    expect(cases).to_contain_text("Ready for review")


def test_someone_else_with_quick_created_beneficiary(app, page, live_server):
    seed_lists()
    sign_in(page, live_server, make_user("volunteer"))
    new_contact(page, live_server)
    page.get_by_role("link", name="+ New Case").click()
    page.get_by_label("Case Title").fill("Shopping for my neighbour")
    page.get_by_label("Someone Else").check()
    page.get_by_role("button", name="Quick Create beneficiary").click()
    panel = page.locator("#quick-create-panel")
    expect(panel).to_contain_text("Contact Providing Consent")
    expect(panel).to_contain_text("Robert Livingstone")
    panel.get_by_label("Consent given", exact=True).check()
    panel.get_by_label("First Name").fill("Edna")
    panel.get_by_label("Last Name").fill("Jones")
    panel.get_by_label("Postcode", exact=True).fill("B2 4QA")
    panel.get_by_label("Postcode (Lookup)").fill("B")
    panel.get_by_role("button", name="Create beneficiary").click()
    expect(page.locator("#beneficiary-details")).to_contain_text("Edna Jones")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Consent from Beneficiary")
    expect(page.locator("#beneficiary-details")).to_contain_text("Edna Jones")
    page.locator("#beneficiary_consent-group").get_by_label("Yes").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("saved")
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("#beneficiary-details")).to_contain_text("Edna Jones")
    expect(page.locator(".govuk-caption-m")).to_contain_text("Caller: Robert Livingstone")
