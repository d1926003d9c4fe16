"""Values the database cannot store never become a 500, and nothing is half-saved.

A crafted NUL character is dropped from what was sent (PostgreSQL refuses it in text);
a number beyond the database's integer range gets a clear 400 and nothing changes.
Both run on SQLite and on PostgreSQL in CI.
"""
from __future__ import annotations

from sqlalchemy import select

from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.contacts.helpers import contact_form
from tests.security.conftest import diff, signed_in, snapshot, token_of


def test_a_nul_character_is_dropped_not_a_500(app, ids):
    volunteer = signed_in(app, "volunteer")
    data = contact_form(first_name="Ro\x00bert", last_name="Nul\x00l", phone="")
    data["csrf_token"] = token_of(volunteer, "/contacts/new")
    resp = volunteer.post("/contacts/new", data=data)
    assert resp.status_code == 302
    saved = db.session.scalar(select(Contact).where(Contact.last_name == "Null"))
    assert saved is not None and saved.first_name == "Robert"
    assert volunteer.get("/?q=%00Null").status_code == 200


def test_an_id_beyond_the_integer_range_is_a_clear_400(app, ids):
    supervisor = signed_in(app, "supervisor")
    url = f"/cases/new/{ids['caller_id']}"
    token = token_of(supervisor, url)
    before = snapshot()
    resp = supervisor.post(url, data={
        "csrf_token": token, "title": "Overflow", "who_requires_support": "Someone Else",
        "beneficiary_id": "99999999999", "referrals-0-type": str(2**31)})
    assert resp.status_code in (400, 422), resp.status_code
    after = snapshot()
    changed = diff(before, after)
    changed.pop("audit_entries", None)  # a viewed record is logged
    assert changed == {}
    resp = supervisor.get(f"/directory?category={2**40}")
    assert resp.status_code in (200, 400)
