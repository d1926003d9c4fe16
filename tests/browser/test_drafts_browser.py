"""Nothing typed is lost (issue 15), in real Chromium: a case typed during a long call, rows
included, survives the tab being closed before Save; leaving a changed form asks first."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from helpline.cases.drafts import CaseDraft
from helpline.cases.models import Case
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import item, seed_lists
from tests.conftest import wait_until
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser

NOTE = "Caller has no food in the house and cannot drive."


def _draft_fields() -> str:
    db.session.expire_all()
    return " ".join(db.session.scalars(select(CaseDraft.fields)))


def _type_a_case(page):
    page.get_by_label("Case Title").fill("Food and a lift to the GP")
    page.get_by_role("button", name="+ New Local Signpost").click()
    page.get_by_role("button", name="+ New Local Signpost").click()
    signposts = page.locator(".hl-signpost-row")
    expect(signposts).to_have_count(2)
    signposts.nth(0).get_by_label("Signpost").select_option(label="Food banks")
    signposts.nth(1).get_by_label("Signpost").select_option(label="Bereavement")
    page.get_by_role("button", name="+ New Local Referral").click()
    refs = page.locator(".hl-referral-row")
    expect(refs).to_have_count(1)
    # the new row's own htmx (its type loads the extra fields) is live once it has settled
    expect(page.locator("#referral-rows.htmx-settling, #referral-rows .htmx-added")).to_have_count(0)
    refs.nth(0).get_by_label("Local Response Type").select_option(label="Transport")
    refs.nth(0).get_by_label("Journey").fill("Home to GP surgery")
    page.locator("#psychosocial_support-group").get_by_label("Yes").check()
    page.get_by_label("Add to Summary Notes").fill(NOTE)


def test_case_typed_then_tab_closed_is_offered_restored_and_saved(app, context, page,
                                                                   live_server):
    seed_lists()
    user = make_user("supervisor")
    caller = make_contact(user)
    db.session.commit()
    sign_in(page, live_server, user)
    new_case = f"{live_server.url}/cases/new/{caller.id}"
    page.goto(new_case)
    _type_a_case(page)
    # the autosave (a few seconds after the typing stops) says so in its live region ...
    expect(page.locator("#draft-status")).to_have_text(re.compile(r"Draft saved \d\d:\d\d"))
    # ... and the server holds everything typed, the rows' values included
    wait_until(lambda: NOTE in _draft_fields() and "Home to GP surgery" in _draft_fields(),
               message="the draft was not kept")

    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
    with page.expect_event("close"):  # (waiting also lets the dialog handler run)
        page.close(run_before_unload=True)  # the tab is closed before Save
    assert dialogs == ["beforeunload"]  # it asked first

    again = context.new_page()
    again.goto(new_case)  # New Case for that caller again
    offer = again.locator("#draft-offer")
    expect(offer).to_contain_text(re.compile(
        r"You have an unsaved draft from \d\d/\d\d/\d{4} \d\d:\d\d"))
    expect(again.get_by_label("Case Title")).to_have_value("")
    again.get_by_role("link", name="Restore").click()
    expect(again.get_by_label("Case Title")).to_have_value("Food and a lift to the GP")
    signposts = again.locator(".hl-signpost-row")
    expect(signposts).to_have_count(2)
    expect(signposts.nth(0).get_by_label("Signpost")).to_have_value(
        str(item("signpost_category", "Food banks").id))
    expect(signposts.nth(1).get_by_label("Signpost")).to_have_value(
        str(item("signpost_category", "Bereavement").id))
    refs = again.locator(".hl-referral-row")
    expect(refs).to_have_count(1)
    expect(refs.nth(0).get_by_label("Local Response Type")).to_have_value(
        str(item("local_response_type", "Transport").id))
    expect(refs.nth(0).get_by_label("Journey")).to_have_value("Home to GP surgery")
    expect(again.locator("#psychosocial_support-group").get_by_label("Yes")).to_be_checked()
    expect(again.get_by_label("Add to Summary Notes")).to_have_value(NOTE)

    again.get_by_role("button", name="Save", exact=True).click()
    expect(again.locator(".govuk-notification-banner")).to_contain_text("saved")
    expect(again).to_have_url(re.compile(r"/cases/\d+$"))
    db.session.expire_all()
    case = db.session.scalar(select(Case))
    assert case.title == "Food and a lift to the GP" and case.psychosocial_support is True
    assert [s.category.name for s in case.signposts] == ["Food banks", "Bereavement"]
    assert [r.response_type.name for r in case.referrals] == ["Transport"]
    assert case.notes[0].text == NOTE
    assert db.session.scalar(select(func.count(CaseDraft.id))) == 0  # the draft row is gone
    again.goto(new_case)
    expect(again.locator("h1")).to_have_text("New Case")
    expect(again.locator("#draft-offer")).to_have_count(0)


def test_leaving_a_changed_form_asks_first_and_an_unchanged_one_does_not(app, page,
                                                                       live_server):
    user = make_user("volunteer")
    sign_in(page, live_server, user)
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()  # "stay on this page"
    page.on("dialog", on_dialog)

    page.goto(f"{live_server.url}/contacts/new")
    page.locator("h1").click()  # the user did something, but changed nothing
    page.get_by_role("link", name="Home", exact=True).click()
    expect(page.locator("h1")).not_to_have_text("New Contact")
    assert dialogs == []

    page.goto(f"{live_server.url}/contacts/new")
    page.get_by_label("First Name").fill("Robert")
    with page.expect_event("dialog"):
        page.get_by_role("link", name="Home", exact=True).click(no_wait_after=True)
    assert dialogs == ["beforeunload"]
    expect(page.locator("h1")).to_have_text("New Contact")  # stayed
    expect(page.get_by_label("First Name")).to_have_value("Robert")  # nothing lost

    # submitting the form is not leaving it: no dialog
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert dialogs == ["beforeunload"]
