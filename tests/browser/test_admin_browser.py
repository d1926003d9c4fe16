"""Admin in Chromium: a new signpost category is offered, a retired one is not (old cases keep it)."""
import pytest
from playwright.sync_api import expect

from helpline.cases.models import Signpost
from helpline.cases.services import create_case
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import item, seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_admin_adds_and_retires_signpost_categories(app, browser, live_server):
    seed_lists()
    volunteer = make_user("volunteer")
    caller = make_contact(volunteer)
    old = create_case(caller, "Old case", volunteer)
    old.signposts.append(Signpost(category_id=item("signpost_category", "Housing").id))
    db.session.commit()

    admin = browser.new_context().new_page()
    sign_in(admin, live_server, make_user("admin"))
    admin.goto(f"{live_server.url}/admin/lists/signpost_category")
    admin.get_by_label("New item").fill("Pet care")
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.locator("#list-items")).to_contain_text("Offered")
    admin.get_by_role("button", name="Retire Housing").click()
    expect(admin.locator("#list-items tr", has_text="Housing")).to_contain_text("Retired")

    page = browser.new_context().new_page()
    sign_in(page, live_server, volunteer)
    page.goto(f"{live_server.url}/contacts/{caller.id}")
    # the volunteer owns a case of this caller: the work is theirs, no verification asked
    expect(page.locator("#owner-access")).to_be_visible()
    page.goto(f"{live_server.url}/cases/new/{caller.id}")
    page.get_by_role("button", name="+ New Local Signpost").click()
    options = page.locator(".hl-signpost-row select").first.locator("option")
    expect(options.filter(has_text="Pet care")).to_have_count(1)
    expect(options.filter(has_text="Housing")).to_have_count(0)
    page.goto(f"{live_server.url}/cases/{old.id}")
    expect(page.locator(".hl-signpost-row select").first).to_contain_text("Housing (retired)")
