"""Accessibility in real Chromium: axe-core on every main page and the reminder pop-up,
and the new-contact and new-case forms filled in and saved with the keyboard alone.

axe-core is vendored from npm (tests/browser/vendor/, see its README). It is injected with
`page.evaluate(source)`: that runs through the DevTools protocol, which a page's
Content-Security-Policy does not block (`page.add_script_tag` inserts an inline <script>,
which `script-src 'self'` does).
"""
from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpline.callbacks import services as cb_services
from helpline.cases.models import Case, Referral, Signpost
from helpline.cases.services import add_note, create_case, mark_ready_for_review
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.knowledge.models import Article, Organisation
from helpline.callback_requests.models import CallBackRequest
from helpline.review.models import ExportBatch
from helpline.timeutil import utcnow
from tests.browser.test_browser import sign_in
from tests.cases.helpers import item, seed_lists
from tests.conftest import wait_until
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")

# The one accepted exception: GOV.UK Frontend's conditional reveals put aria-expanded on the
# radio or checkbox that reveals more questions. ARIA 1.2 does not allow it on role=radio, so
# axe reports it as critical, but GOV.UK's research found screen readers announce it usefully
# and keeps it on purpose (alphagov/govuk-frontend#979, known issue #1280; w3c/aria#1404 asks
# ARIA to allow it). Only exactly that is let through: any other disallowed attribute, or
# aria-expanded on anything else, still fails.
_RUN = """async (selector) => {
  const context = selector ? document.querySelector(selector) : document;
  const result = await axe.run(context, {resultTypes: ['violations']});
  const reveal = '.govuk-radios__input[aria-controls], .govuk-checkboxes__input[aria-controls]';
  const govukReveal = (v, n) => v.id === 'aria-allowed-attr'
    && document.querySelector(n.target.join(' '))?.matches(reveal)
    && n.any.concat(n.all, n.none).every(c => [].concat(c.data?.values ?? c.data ?? []).every(
         a => String(a).startsWith('aria-expanded=')));
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.filter(n => !govukReveal(v, n)).map(n => ({
      target: n.target.join(' '), html: n.html.slice(0, 300), summary: n.failureSummary}))
  })).filter(v => v.nodes.length);
}"""


@lru_cache(maxsize=1)
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, selector: str | None = None) -> list[dict]:
    """Serious and critical axe violations on the page as it is now (or inside `selector`)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())  # DevTools evaluation: not subject to the page's CSP
    return [v for v in page.evaluate(_RUN, selector) if v["impact"] in BLOCKING]


def htmx_settled(page) -> None:
    """Wait until htmx has swapped, settled and wired up what it inserted."""
    page.wait_for_function("() => !document.querySelector("
                           "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def describe(label: str, url: str, violations: list[dict]) -> str:
    lines = [f"== {label} ({url})"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} <{v['helpUrl']}>")
        for n in v["nodes"]:
            lines.append(f"      {n['target']}\n        {n['html']}\n        "
                         + n["summary"].replace("\n", "\n        "))
    return "\n".join(lines)


class Audit:
    """Runs axe on each page visited and reports every failing page at once."""

    def __init__(self, page, base_url: str) -> None:
        self.page, self.base, self.failures, self.checked = page, base_url, [], []

    def check(self, label: str, selector: str | None = None) -> None:
        found = axe_violations(self.page, selector)
        self.checked.append(label)
        if found:
            self.failures.append(describe(label, self.page.url, found))

    def visit(self, label: str, path: str, heading: str | re.Pattern | None = None) -> None:
        self.page.goto(self.base + path)
        h1 = self.page.locator("h1").first
        if heading is not None:
            expect(h1).to_have_text(heading)
        else:
            expect(h1).to_be_visible()
        self.check(label)

    def assert_clean(self) -> None:
        print(f"axe checked {len(self.checked)} page states: {', '.join(self.checked)}")
        assert not self.failures, "serious/critical accessibility violations:\n\n" + \
            "\n\n".join(self.failures)


def _records(admin) -> dict:
    """Something on every page: contacts, a case with signposts and referrals, the rest."""
    seed_lists()
    volunteer = make_user("volunteer", name="Angie Greenaway-Samuel")
    caller = make_contact(admin, first_name="Robert", last_name="Livingstone")
    make_contact(admin, first_name="Amira", last_name="Khan", phone="0121 496 0000",
                 postcode="B2 4QA")
    make_contact(admin, first_name="Peter", last_name="Livingstone", phone="07700 900999")
    case = create_case(caller, "Food and prescription", admin, safeguarding_activated=True,
                       safeguarding_reason="Lives alone, no food")
    case.signposts.append(Signpost(category_id=item("signpost_category", "Food banks").id))
    case.referrals.append(Referral(response_type_id=item("local_response_type", "Food").id,
                                   extra={}, status="Awaiting a local team"))
    add_note(case, "Caller has no food in the house.", admin)
    review_case = create_case(caller, "Benefits question", volunteer)
    mark_ready_for_review(review_case, volunteer)
    now = utcnow()
    interaction = Interaction(enquirer_id=caller.id, case_id=case.id, direction="Inbound",
                              interaction_date=now, call_back_required=True,
                              notes="Unhappy with the wait", duration_mins=12)
    db.session.add(interaction)
    cb = cb_services.create(case, cb_services.CallBackInput(
        "07700 900123", f"{case.reference} – caller wants an update", now, None, True,
        now + timedelta(hours=1), now + timedelta(hours=3), False, True, "me"), admin)
    req = CallBackRequest(full_name="Margaret Evans", contact_number="07700 900555",
                          nature="Other", anytime=True)
    article = Article(title="Food parcels", body="How to refer a caller for a food parcel.",
                      tags="food")
    org = Organisation(category_id=item("signpost_category", "Food banks").id,
                       region="West Midlands", name="Birmingham Food Bank",
                       phone="0121 496 0001", opening_hours="Mon–Fri 9–5")
    batch = ExportBatch(created_by_id=admin.id, filters={}, fmt="csv", status="done", total=1,
                        done_rows=1, finished_at=now, expires_at=now + timedelta(days=30))
    db.session.add_all([req, article, org, batch])
    db.session.commit()
    return {"caller": caller.id, "case": case.id, "review_case": review_case.id,
            "interaction": interaction.id, "cb": cb.id, "request": req.id,
            "article": article.id, "batch": batch.id}


def test_every_main_page_has_no_serious_violations(app, page, live_server):
    admin = make_user("admin", name="Ada Admin")  # administrators may open every page
    ids = _records(admin)
    audit = Audit(page, live_server.url)

    audit.visit("sign-in", "/login", re.compile("Sign in"))
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    audit.check("sign-in with an error")
    sign_in(page, live_server, admin)
    expect(page.locator("h1")).to_have_text("Active Contacts")

    audit.visit("Active Contacts", "/", "Active Contacts")
    audit.visit("Active Contacts, searched", "/?q=Living", "Active Contacts")
    audit.visit("contact", f"/contacts/{ids['caller']}", "Robert Livingstone")
    audit.visit("edit contact", f"/contacts/{ids['caller']}/edit")
    audit.visit("new contact", "/contacts/new", "New Contact")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    audit.check("new contact, empty save")
    page.get_by_label("Consent given", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-error-summary li")).to_have_count(5)
    audit.check("new contact, consent given and empty save")
    page.get_by_label("Last Name").press_sequentially("Livingst")
    expect(page.locator("#duplicates")).to_contain_text("Peter Livingstone")
    page.get_by_label("Postcode (Lookup)").press_sequentially("S")
    expect(page.locator("#postcode-suggestions button").first).to_be_visible()
    audit.check("new contact with duplicates and postcode area suggestions")

    audit.visit("new case", f"/cases/new/{ids['caller']}", "New Case")
    page.get_by_role("button", name="+ New Local Signpost").click()
    page.get_by_role("button", name="+ New Local Referral").click()
    expect(page.locator(".hl-referral-row")).to_have_count(1)
    htmx_settled(page)
    page.locator(".hl-referral-row").first.get_by_label("Local Response Type").select_option(
        label="Food")
    expect(page.get_by_label("People in household")).to_be_visible()
    page.get_by_label("Someone Else").check()
    expect(page.get_by_role("button", name="Quick Create beneficiary")).to_be_visible()
    audit.check("new case with a signpost and a referral row")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    audit.check("new case with errors")

    audit.visit("case", f"/cases/{ids['case']}", "Food and prescription")
    expect(page.locator(".hl-signpost-row")).to_have_count(1)
    expect(page.locator(".hl-referral-row")).to_have_count(1)
    audit.visit("new interaction", f"/interactions/new?case_id={ids['case']}")
    page.get_by_role("combobox", name="Interaction Handler").press_sequentially("Ang")
    expect(page.get_by_role("option", name=re.compile("Angie Greenaway-Samuel"))).to_be_visible()
    audit.check("new interaction with handler suggestions open")
    audit.visit("Search More… handlers", "/interactions/handlers")
    audit.visit("interaction", f"/interactions/{ids['interaction']}", re.compile(r"INT\d+"))
    audit.visit("My call backs", "/callbacks/")
    audit.visit("My cases", "/cases/queues/mine", "My cases")
    audit.visit("Sent back to me", "/cases/queues/sent-back")
    audit.visit("new call back", f"/callbacks/new/{ids['case']}")
    audit.visit("call back", f"/callbacks/{ids['cb']}")
    audit.visit("overdue call backs", "/callbacks/overdue")
    audit.visit("call-back requests awaiting allocation", "/callback-requests/")
    audit.visit("call-back requests awaiting calls", "/callback-requests/mine")
    audit.visit("new call-back request", "/callback-requests/new")
    audit.visit("paper call-back request form", "/callback-requests/paper")
    audit.visit("call-back request", f"/callback-requests/{ids['request']}")
    audit.visit("review queue", "/review/")
    audit.visit("review a case", f"/review/cases/{ids['review_case']}")
    audit.visit("review a case with a referral", f"/review/cases/{ids['case']}")
    audit.visit("referrals awaiting a local team", "/review/referrals/waiting")
    audit.visit("export", "/review/export")
    audit.visit("export status", f"/review/export/{ids['batch']}")
    audit.visit("export log", "/review/exports")
    audit.visit("Morning Review", "/supervisor/")
    audit.visit("dashboard", "/supervisor/dashboard")
    audit.visit("calls behind a dashboard figure", "/supervisor/calls?period=today")
    audit.visit("audit viewer", "/supervisor/audit")
    audit.visit("admin", "/admin/")
    audit.visit("admin users", "/admin/users")
    audit.visit("admin new user", "/admin/users/new")
    audit.visit("admin lists", "/admin/lists/")
    audit.visit("admin list items", "/admin/lists/signpost_category")
    audit.visit("admin teams", "/admin/teams")
    audit.visit("admin sent mail", "/admin/mail")
    audit.visit("admin directory", "/admin/directory")
    audit.visit("admin local teams", "/admin/local-teams")
    audit.visit("admin new article", "/admin/knowledge")
    audit.visit("merge contacts", f"/contacts/{ids['caller']}/merge")
    audit.visit("knowledge", "/knowledge/?kq=food")
    audit.visit("knowledge article", f"/knowledge/{ids['article']}")
    audit.visit("directory", "/directory?region=West+Midlands")
    audit.visit("notifications", "/notifications")
    page.get_by_label("Search knowledge").press_sequentially("food")
    expect(page.locator("#header-knowledge")).to_contain_text("Food parcels")
    audit.check("header knowledge search with results")
    audit.assert_clean()


def test_volunteer_pages_and_verification_gate(app, page, live_server):
    volunteer = make_user("volunteer", name="Angie Greenaway-Samuel")
    caller = make_contact(volunteer)
    sign_in(page, live_server, volunteer)
    audit = Audit(page, live_server.url)
    audit.visit("Active Contacts as a volunteer", "/", "Active Contacts")
    audit.visit("contact before verification", f"/contacts/{caller.id}")
    audit.assert_clean()


def test_the_open_reminder_pop_up_has_no_serious_violations(app, page, live_server):
    owner = make_user("volunteer", name="Elliot Hunter")
    case = create_case(make_contact(owner), "Benefits question", owner)
    db.session.commit()
    now = utcnow()
    cb_services.create(case, cb_services.CallBackInput(
        "07700 900123", f"{case.reference} – caller wants an update on payment", now, None, True,
        now + timedelta(minutes=4), now + timedelta(hours=3), False, True, "me"), owner)
    db.session.commit()
    sign_in(page, live_server, owner)
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    assert cb_services.fire_due() == 1  # what the worker's poller does
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_be_focused()
    audit = Audit(page, live_server.url)
    audit.check("reminder pop-up on its own", "#reminders")
    audit.check("page with the reminder pop-up open")
    page.reload()  # the reminder is still showing on the next page load
    expect(page.get_by_role("alertdialog")).to_be_visible()
    audit.check("reminder pop-up after a page load")
    audit.assert_clean()


# --- keyboard only -----------------------------------------------------------------------

def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


class Keyboard:
    """Moves through a form with Tab only, remembering every element focus landed on."""

    def __init__(self, page) -> None:
        self.page, self.visited = page, []

    def tab_to(self, target: str, limit: int = 40) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            self.visited.append(focused_id(self.page))
            if self.visited[-1] == target:
                return
        raise AssertionError(f"Tab never reached #{target}; focus went through "
                             f"{self.visited[-limit:]}")

    def back_to(self, target: str, limit: int = 5) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Shift+Tab")
            self.visited.append(focused_id(self.page))
            if self.visited[-1] == target:
                return
        raise AssertionError(f"Shift+Tab never reached #{target}; focus went through "
                             f"{self.visited[-limit:]}")

    def type_into(self, target: str, text: str) -> None:
        self.tab_to(target)
        self.page.keyboard.type(text)

    def assert_order(self, expected: list[str]) -> None:
        """Each field was reached once, in the order a handler fills the form in."""
        reached = [i for i in self.visited if i in expected]
        assert reached == expected, f"focus order {self.visited}"


def test_new_contact_by_keyboard_alone(app, page, live_server):
    user = make_user("volunteer")
    sign_in(page, live_server, user)
    page.goto(live_server.url + "/contacts/new")
    expect(page.locator("h1")).to_have_text("New Contact")
    kb = Keyboard(page)
    kb.tab_to("consent_status")              # first radio: "Consent given"
    page.keyboard.press("Space")
    expect(page.get_by_label("Consent given", exact=True)).to_be_checked()
    # Consent Given By is no longer asked on a new contact (seed 004, issue 15): it stays
    # "The Caller for themselves", so the next stop is the decision date
    kb.type_into("consent_decision_date-day", "23")
    kb.type_into("consent_decision_date-month", "11")
    kb.type_into("consent_decision_date-year", "2026")
    kb.type_into("first_name", "Robert")
    kb.type_into("last_name", "Livingstone")
    kb.type_into("phone", "07700 900123")
    kb.tab_to("email")
    kb.type_into("address", "1 High Street")
    kb.type_into("postcode", "B1 1AA")
    kb.tab_to("postcode_area")               # leaving Postcode looks its area up
    expect(page.get_by_label("Region (Lookup)")).to_have_value("West Midlands")
    expect(page.get_by_label("Postcode (Lookup)")).to_have_value("B")
    assert focused_id(page) == "postcode_area", "the lookup swap lost the keyboard focus"
    kb.tab_to("region")
    kb.tab_to("date_of_birth-day")
    kb.tab_to("date_of_birth-month")
    kb.tab_to("date_of_birth-year")
    kb.type_into("preferred_contact_time", "Weekday mornings")
    kb.tab_to("submit")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Robert Livingstone")
    kb.assert_order(["consent_status", "consent_decision_date-day",
                     "consent_decision_date-month", "consent_decision_date-year",
                     "first_name", "last_name", "phone", "email", "address", "postcode",
                     "postcode_area", "region", "date_of_birth-day", "date_of_birth-month",
                     "date_of_birth-year", "preferred_contact_time", "submit"])
    contact = db.session.scalar(select(Contact).where(Contact.last_name == "Livingstone"))
    assert (contact.first_name, contact.phone, contact.region, contact.preferred_contact_time) \
        == ("Robert", "07700 900123", "West Midlands", "Weekday mornings")
    assert contact.consent_decision_date.isoformat() == "2026-11-23"


def test_new_case_by_keyboard_alone(app, page, live_server):
    seed_lists()
    user = make_user("volunteer")
    caller = make_contact(user)
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/contacts/{caller.id}")
    page.get_by_label("Name").check()              # verifying the caller is not under test
    page.get_by_role("button", name="Caller verified").click()
    page.goto(f"{live_server.url}/cases/new/{caller.id}")
    expect(page.locator("h1")).to_have_text("New Case")
    kb = Keyboard(page)
    kb.type_into("title", "Food and prescription")
    kb.tab_to("who_requires_support-1")            # checked by default: The person who called
    kb.type_into("note", "Caller has no food in the house.")
    kb.tab_to("psychosocial_support-2")            # "No" is checked: arrows move to "Yes"
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#psychosocial_support-1")).to_be_checked()
    kb.tab_to("safeguarding_activated-2")
    page.keyboard.press("ArrowLeft")               # Yes reveals Safeguarding Reason
    expect(page.locator("#safeguarding_activated-1")).to_be_checked()
    kb.type_into("safeguarding_reason", "Lives alone")
    kb.tab_to("add-signpost")
    page.keyboard.press("Enter")                   # the row is added inline, above the button
    expect(page.locator(".hl-signpost-row")).to_have_count(1)
    htmx_settled(page)
    row_select = page.locator(".hl-signpost-row select")
    select_id = row_select.get_attribute("id")
    expect(row_select).to_be_focused()             # focus moves into the new row
    kb.visited.append(select_id)
    page.keyboard.type("Food")                     # type-ahead picks "Food banks"
    expect(row_select.locator("option:checked")).to_have_text("Food banks")
    kb.tab_to("add-referral")
    kb.tab_to("feedback_consent-1")
    page.keyboard.press("Space")
    kb.tab_to("ready_for_review-2")
    kb.tab_to("submit")
    page.keyboard.press("Space")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("saved")
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    kb.assert_order(["title", "who_requires_support-1", "note", "psychosocial_support-2",
                     "safeguarding_activated-2", "safeguarding_reason", "add-signpost",
                     select_id, "add-signpost", "add-referral", "feedback_consent-1",
                     "ready_for_review-2", "submit"])
    case = db.session.scalar(select(Case).where(Case.title == "Food and prescription"))
    assert case.psychosocial_support and case.safeguarding_activated
    assert case.safeguarding_reason == "Lives alone" and case.feedback_consent is True
    assert [s.category_id for s in case.signposts] == [item("signpost_category",
                                                            "Food banks").id]
    assert [n.text for n in case.notes] == ["Caller has no food in the house."]
