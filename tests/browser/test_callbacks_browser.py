"""A due call back pops up on the owner's open page, snoozes, comes back, and is closed."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from helpline.callbacks import services
from helpline.callbacks.models import CallBack
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.timeutil import utcnow
from tests.browser.test_browser import sign_in
from tests.conftest import wait_until
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_reminder_pops_up_snoozes_returns_and_is_done(app, page, live_server):
    owner = make_user("volunteer", name="Elliot Hunter")
    case = create_case(make_contact(owner), "Benefits question", owner)
    db.session.commit()
    now = utcnow()
    cb = services.create(case, services.CallBackInput(
        "07700 900123", f"{case.reference} – caller wants an update on payment", now, None, True,
        now + timedelta(minutes=4), now + timedelta(hours=3), False, True, "me"), owner)
    db.session.commit()

    sign_in(page, live_server, owner)
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_have_count(0)
    assert services.fire_due() == 1  # what the worker's poller does
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("caller wants an update on payment")
    expect(dialog).to_contain_text("07700 900123")
    expect(dialog).to_be_focused()

    dialog.get_by_label("Snooze for").select_option("15")
    dialog.get_by_role("button", name="Snooze").click()
    expect(dialog).to_have_count(0)
    assert services.fire_due(utcnow() + timedelta(minutes=10)) == 0  # still snoozed
    assert services.fire_due(utcnow() + timedelta(minutes=16)) == 1  # the snooze has ended
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Snooze for").locator("option")).to_have_count(7)  # 105 min left

    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(CallBack, cb.id).status == "Done"
    page.reload()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
