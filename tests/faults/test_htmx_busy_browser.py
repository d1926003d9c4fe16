"""A busy database under an htmx click (Add note) in real Chromium.

What a user would notice: the click does not silently do nothing. A message at the top
of the page says the database was busy and nothing was saved; the note they typed is
still in the box; pressing Add note again once the database is free adds it, and the
message goes away.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import event, select

from helpline.cases.models import CaseNote
from helpline.cases.services import create_case
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user
from tests.faults.test_sqlite_busy import WriteLock

pytestmark = pytest.mark.browser


def test_add_note_while_the_database_is_locked(app, page, live_server):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock; PostgreSQL locks rows")
    seed_lists()
    supervisor = make_user("supervisor", name="Elliot Hunter")
    case = create_case(make_contact(supervisor), "Food parcel needed", supervisor)
    db.session.commit()
    sign_in(page, live_server, supervisor)
    page.goto(f"{live_server.url}/cases/{case.id}")
    page.get_by_label("Add to Summary Notes").fill("Rang the food bank: delivery Friday.")

    def short_busy_timeout(dbapi_conn, _record):  # instead of 10 s, so the test is quick
        dbapi_conn.execute("PRAGMA busy_timeout=200")
    event.listen(db.engine, "connect", short_busy_timeout)
    db.engine.dispose()
    lock = WriteLock()
    try:
        page.get_by_role("button", name="Add note").click()
        alert = page.locator("#hl-request-error")
        expect(alert).to_contain_text("The database is busy, so that was not saved")
        expect(page.get_by_label("Add to Summary Notes")).to_have_value(
            "Rang the food bank: delivery Friday.")
    finally:
        lock.release()
        event.remove(db.engine, "connect", short_busy_timeout)
        db.engine.dispose()
    assert db.session.scalar(select(CaseNote).where(CaseNote.case_id == case.id)) is None
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes li").first).to_contain_text("Rang the food bank")
    expect(page.locator("#hl-request-error")).to_have_count(0)
    expect(page.get_by_label("Add to Summary Notes")).to_have_value("")
