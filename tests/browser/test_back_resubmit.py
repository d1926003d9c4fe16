"""Walk finding (issue 16): Back after saving, then Save again, made a second record and
sent its mails again, because the browser put the typed values back into a fresh form
(with a fresh once-only token). Create forms are autocomplete="off": Back shows an empty
form, and pressing Save makes nothing."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from helpline.cases.models import Case
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def test_back_then_save_again_makes_no_second_case(app, page, live_server):
    seed_lists()
    user = make_user("supervisor")
    caller = make_contact(user)
    db.session.commit()
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/cases/new/{caller.id}")
    page.get_by_label("Case Title").fill("Boiler broken, no heating")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Boiler broken")
    page.go_back()
    expect(page.get_by_label("Case Title")).to_have_value("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert _count(Case) == 1

