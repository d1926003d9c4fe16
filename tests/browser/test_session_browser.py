"""Must show 1 (browser): after a timeout with a half-typed note, signing in again offers
the note back; another person signing in on the same tab is not offered it."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpline.auth.models import UserSession
from helpline.cases.services import create_case
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

NOTE = "Caller's prescription is ready on Friday; neighbour can collect"


def _idle_for(user, minutes: int) -> None:
    """Time control: the user's open session was last used `minutes` ago."""
    db.session.expire_all()
    for sess in db.session.scalars(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None))):
        sess.last_seen_at -= timedelta(minutes=minutes)
    db.session.commit()


def _sign_in_here(page, user):
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_half_typed_note_is_offered_back_after_a_timeout(app, page, live_server):
    seed_lists()
    sup = make_user("supervisor", name="Elliot Hunter")
    case = create_case(make_contact(sup), "Medication", sup)
    db.session.commit()
    sign_in(page, live_server, sup)
    case_url = f"{live_server.url}/cases/{case.id}"
    page.goto(case_url)
    expect(page.locator("#live")).to_be_attached()
    page.get_by_label("Add to Summary Notes").fill(NOTE)
    page.wait_for_function(
        "() => Object.keys(sessionStorage).some(k => k.startsWith('hl-draft:') && "
        "sessionStorage.getItem(k).includes('neighbour can collect'))")

    # The volunteer is called away; 31 minutes later the open page's event stream finds
    # the session over and the page goes to the sign-in page by itself.
    _idle_for(sup, 31)
    expect(page).to_have_url(re.compile(r"/login"), timeout=30_000)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("You have been signed out")

    _sign_in_here(page, sup)
    expect(page).to_have_url(case_url)
    note = page.get_by_label("Add to Summary Notes")
    expect(note).to_have_value("")
    offer = page.locator(".hl-draft-offer")
    expect(offer).to_contain_text("before you were signed out")
    offer.get_by_role("button", name="Put back what I typed").click()
    expect(note).to_have_value(NOTE)
    expect(offer).to_have_count(0)
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes li").first).to_contain_text(NOTE)


def test_someone_else_signing_in_on_the_tab_is_not_offered_the_draft(app, page, live_server):
    seed_lists()
    sup = make_user("supervisor")
    other = make_user("supervisor")
    case = create_case(make_contact(sup), "Medication", sup)
    db.session.commit()
    sign_in(page, live_server, sup)
    case_url = f"{live_server.url}/cases/{case.id}"
    page.goto(case_url)
    page.get_by_label("Add to Summary Notes").fill(NOTE)
    page.wait_for_function("() => Object.keys(sessionStorage).some("
                           "k => k.startsWith('hl-draft:'))")
    _idle_for(sup, 31)
    # the open page goes to sign-in by itself (its event stream finds the session over); a
    # reload here would race that navigation
    expect(page).to_have_url(re.compile(r"/login"), timeout=30_000)
    _sign_in_here(page, other)
    expect(page).to_have_url(case_url)
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".hl-draft-offer")).to_have_count(0)
    assert page.evaluate("() => Object.keys(sessionStorage).filter("
                         "k => k.startsWith('hl-draft:')).length") == 0


def test_typing_keeps_the_session_then_the_warning_then_the_timeout(app, page, live_server):
    """session.js with a 15-second idle time: typing sends keep-alives (the user stays
    signed in for 25 s of typing); when typing stops the warning dialog comes, "Stay
    signed in" works, and then the timeout takes the tab to the sign-in page, keeping the
    text, which is offered back after signing in."""
    seed_lists()
    app.config["IDLE_TIMEOUT_MINUTES"] = 0.25  # 15 seconds (room for a busy CI machine)
    user = make_user("volunteer")
    keep_alives = []
    page.on("request", lambda r: keep_alives.append(r.url)
            if r.url.endswith("/session/keep-alive") else None)
    sign_in(page, live_server, user)
    page.goto(live_server.url + "/interactions/new")
    notes = page.get_by_label("Notes")
    text = "Caller explained the situation at length while I typed " * 4  # 224 characters
    notes.press_sequentially(text, delay=110)  # about 25 s of steady typing, no request
    assert len(keep_alives) >= 4
    page.reload()  # a deliberate request: still signed in
    expect(page).not_to_have_url(re.compile(r"/login"))

    dialog = page.locator("#hl-timeout")
    # the dialog comes 5 s before the 15-second timeout, i.e. 10 s after the reload, checked
    # every 1.25 s: wait for it up to the timeout itself
    expect(dialog).to_be_visible(timeout=15_000)
    expect(dialog).to_contain_text("You will be signed out")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"/login"))

    page.get_by_label("Notes").fill("Half-typed: caller needs a food parcel")
    expect(page).to_have_url(re.compile(r"/login"), timeout=30_000)
    _sign_in_here(page, user)
    expect(page).to_have_url(re.compile(r"/interactions/new"))
    page.locator(".hl-draft-offer").get_by_role("button", name="Put back what I typed").click()
    expect(page.get_by_label("Notes")).to_have_value("Half-typed: caller needs a food parcel")
