"""Interactions in Chromium: pick a colleague by typing, save, they get one mail and a live ping."""
import re

import pytest
from playwright.sync_api import expect

from helpline.cases.services import create_case
from helpline.catcher import read_messages
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.conftest import wait_until
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_assign_a_colleague_by_typing_and_they_are_pinged(app, browser, live_server, smtp):
    seed_lists()
    me = make_user("supervisor", name="Elliot Hunter")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", email="angie@example.org")
    caller = make_contact(me)
    case = create_case(caller, "Food parcel needed", me)
    db.session.commit()

    # Angie has Helpline open on her own PC
    angie_page = browser.new_context().new_page()
    sign_in(angie_page, live_server, angie)
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)

    page = browser.new_context().new_page()
    sign_in(page, live_server, me)
    page.goto(f"{live_server.url}/interactions/new?case_id={case.id}")
    expect(page.locator("#handler-chips")).to_contain_text("Elliot Hunter")
    expect(page.locator("#enquirer-group")).to_contain_text("Robert Livingstone")
    combo = page.get_by_role("combobox", name="Interaction Handler")
    combo.press_sequentially("Ang", delay=30)
    option = page.get_by_role("option", name=re.compile("Angie Greenaway-Samuel"))
    expect(option).to_be_visible()
    combo.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    combo.press("Enter")
    expect(page.locator("#handler-chips")).to_contain_text("Angie Greenaway-Samuel")
    expect(combo).to_have_value("")
    page.get_by_label("Duration (mins)").fill("25")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1")).to_have_text(re.compile(r"INT\d+"))
    reference = page.locator("h1").inner_text()
    expect(page.locator("#handlers")).to_contain_text("Angie Greenaway-Samuel")

    # Angie's open page shows the notification without reloading
    expect(angie_page.locator("#live-notifications")).to_contain_text(reference)
    # exactly one mail, naming the INT number, with a working link
    run_jobs(app)
    mails = wait_until(lambda: [m for m in read_messages(smtp["dir"])
                                if m["to"] == "angie@example.org"], timeout=30)
    assert len(mails) == 1 and reference in mails[0]["subject"]
    link = re.search(r"View Helpline Interaction: (\S+)", mails[0]["body"]).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    angie_page.goto(f"{live_server.url}/{path}")
    expect(angie_page.locator("h1")).to_have_text(reference)


def test_search_more_lists_handlers_with_the_seed_columns(app, page, live_server):
    seed_lists()
    me = make_user("volunteer", name="Elliot Hunter")
    make_user(name="Barry Smith")
    sign_in(page, live_server, me)
    page.goto(f"{live_server.url}/interactions/new")
    page.get_by_role("link", name="Search More…").click()
    table = page.locator("#handler-table")
    for column in ("Name", "Login", "Frontline Operator?", "Helpline Team Access",
                   "Default Team", "Language", "Latest authentication"):
        expect(table.locator("th", has_text=column).first).to_be_visible()
    table.get_by_role("button", name="Choose Barry Smith").click()
    expect(page.locator("#handler-chips")).to_contain_text("Barry Smith")
