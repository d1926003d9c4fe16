"""The Morning Review in real Chromium: "Mark reviewed" takes away only its own item."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.supervisor.models import ReviewMark
from helpline.timeutil import utcnow
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_mark_reviewed_takes_away_only_that_item(page, live_server):
    seed_lists()
    sup = make_user("supervisor")
    caller = make_contact(sup)
    now = utcnow()
    calls = [Interaction(enquirer_id=caller.id, direction="Inbound", interaction_date=now,
                         created_at=now - timedelta(minutes=n), call_back_required=True,
                         notes=f"call {n}") for n in range(3)]
    db.session.add_all(calls)
    db.session.commit()
    refs = [c.reference for c in calls]
    sign_in(page, live_server, sup)
    page.goto(live_server.url + "/supervisor/")
    expect(page.get_by_role("heading", name="Call backs required (3)")).to_be_visible()
    page.get_by_role("button", name=f"Mark reviewed {refs[1]}").click()
    expect(page.get_by_role("heading", name="Call backs required (2)")).to_be_visible()
    items = page.locator(".hl-review__item")
    expect(items).to_have_count(2)
    expect(page.locator(".hl-review")).not_to_contain_text(refs[1])
    expect(page.locator(".hl-review")).to_contain_text(refs[0])
    expect(page.locator(".hl-review")).to_contain_text(refs[2])
    assert db.session.scalar(select(func.count(ReviewMark.id))) == 1
