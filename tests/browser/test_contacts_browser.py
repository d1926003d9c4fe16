"""Contacts in real Chromium: create with consent rules, postcode lookup, search, duplicates."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import sign_in
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser


def errors(page):
    return page.locator(".govuk-error-message")


def test_create_contact_with_consent_then_find_it(page, live_server):
    user = make_user()
    sign_in(page, live_server, user)
    page.get_by_role("link", name="New", exact=True).click()
    expect(page.locator("h1")).to_have_text("New Contact")
    page.get_by_label("Consent given", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    for text in ("Enter the First Name", "Enter the Last Name", "Enter the Postcode (required",
                 "Enter the Postcode (Lookup)", "Region (Lookup) is filled"):
        expect(summary).to_contain_text(text)
    expect(summary.locator("li")).to_have_count(5)
    page.get_by_label("First Name").fill("Robert")
    page.get_by_label("Last Name").fill("Livingstone")
    page.get_by_label("Phone").fill("07700 900123")
    page.get_by_label("Postcode", exact=True).fill("B1 1AA")
    lookup = page.get_by_label("Postcode (Lookup)")
    lookup.fill("")
    lookup.press_sequentially("B")
    page.get_by_role("button", name="B – Birmingham").click()
    expect(page.get_by_label("Region (Lookup)")).to_have_value("West Midlands")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1")).to_have_text("Robert Livingstone")
    expect(page.locator("#contact-details")).to_contain_text("West Midlands")
    expect(page.get_by_role("link", name="+ New Case")).to_be_visible()

    page.get_by_role("link", name="Home").click()
    search = page.get_by_label("Search this view")
    search.press_sequentially("Living", delay=20)
    expect(page.locator("#contact-results")).to_contain_text("Robert Livingstone")
    expect(page).not_to_have_url(re.compile(r"q="))  # the terms stay out of the history
    search.fill("")
    search.press_sequentially("+44 7700 900123", delay=10)
    expect(page.locator("#contact-results")).to_contain_text("1 contact matching")
    expect(page.locator("#contact-results")).to_contain_text("Robert Livingstone")


def test_refused_consent_with_uk_saves_with_no_name(page, live_server):
    sign_in(page, live_server, make_user())
    page.goto(live_server.url + "/contacts/new")
    page.get_by_label("Consent requested but refused").check()
    page.get_by_label("Postcode (Lookup)").press_sequentially("UK")
    expect(page.get_by_label("Region (Lookup)")).to_have_value("United Kingdom")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1")).to_have_text("Anonymous (UK – United Kingdom)")


def test_typing_an_existing_name_shows_a_possible_duplicate(page, live_server):
    user = make_user()
    make_contact(user, first_name="Peter", last_name="Livingstone")
    sign_in(page, live_server, user)
    page.goto(live_server.url + "/contacts/new")
    page.get_by_label("First Name").press_sequentially("Peter")
    page.get_by_label("Last Name").press_sequentially("Livingston")
    panel = page.locator("#duplicates")
    expect(panel).to_contain_text("Possible existing contacts")
    expect(panel.get_by_role("link", name="Peter Livingstone")).to_be_visible()
    expect(panel).to_contain_text("Similar name")


def test_search_works_without_javascript(browser, live_server):
    user = make_user()
    make_contact(user, first_name="Amira", last_name="Khan", phone="0121 496 0000")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, user)
    page.get_by_label("Search this view").fill("0121 4960000")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#contact-results")).to_contain_text("Amira Khan")
    context.close()


def test_pages_of_a_search_are_fetched_in_place_and_keep_the_terms_out_of_the_url(
        page, live_server):
    user = make_user()
    for i in range(30):
        make_contact(user, first_name=f"Name{i:02d}", last_name="Quennell", phone="")
    sign_in(page, live_server, user)
    page.get_by_label("Search this view").press_sequentially("Quennell", delay=20)
    results = page.locator("#contact-results")
    expect(results).to_contain_text("30 contacts matching")
    expect(results.get_by_role("link", name="Name00 Quennell")).to_be_visible()
    results.get_by_role("link", name="Next page").click()
    expect(results).to_contain_text("Page 2 of 2")
    expect(results.get_by_role("link", name="Name29 Quennell")).to_be_visible()
    expect(page.locator("#contact-results")).to_have_count(1)  # swapped, not nested
    expect(page).not_to_have_url(re.compile(r"q=|page="))
    expect(page.get_by_label("Search this view")).to_have_value("Quennell")
