"""Merge moves everything linked to the merged-away contact, then erases it; nobody else's
rows change (issue 13)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.cases import services as case_services
from helpline.contacts.models import Contact, Verification
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.callback_requests.models import CallBackRequest
from helpline.timeutil import utcnow
from tests.conftest import csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user

PERSONAL = ("first_name", "last_name", "phone", "email", "address", "postcode",
            "date_of_birth", "preferred_contact_time", "first_key", "last_key", "full_key",
            "phone_key", "postcode_key", "last_sound")


def _rows() -> dict[tuple[str, object], tuple]:
    """Every row of every table by (table, primary key), as stored."""
    db.session.expire_all()
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            for row in conn.execute(select(table)).all():
                key = tuple(row._mapping[c.name] for c in pk)
                out[(table.name, key if len(key) > 1 else key[0])] = tuple(row)
    return out


@pytest.fixture
def duplicates(app):
    owner = make_user("supervisor")
    robert = make_contact(owner, first_name="Robert", last_name="Livingstone",
                          phone="07700 900123", postcode="B1 1AA")
    peter = make_contact(owner, first_name="Peter", last_name="Livingstone",
                         phone="07700 900456", postcode="B2 4QA", email="peter@example.org",
                         address="2 Mill Lane", date_of_birth=date(1950, 4, 3))
    jane = make_contact(owner, first_name="Jane", last_name="Livingstone",
                        phone="07700 900789", postcode="B2 4QA")  # same surname and postcode
    case = case_services.create_case(peter, "Food parcel for Peter", owner)
    now = utcnow()
    rows = {
        "peter_call": Interaction(enquirer_id=peter.id, direction="Inbound",
                                  interaction_date=now, notes="Peter Livingstone rang"),
        "jane_call": Interaction(enquirer_id=jane.id, direction="Inbound",
                                 interaction_date=now, notes="Jane Livingstone rang about Peter"),
        "robert_call": Interaction(enquirer_id=robert.id, direction="Outbound",
                                   interaction_date=now, notes="Called Robert back"),
        "peter_request": CallBackRequest(full_name="Peter Livingstone", nature="Other",
                                         contact_number="07700 900456", anytime=True,
                                         contact_id=peter.id, notes="Call Peter"),
        "jane_request": CallBackRequest(full_name="Jane Livingstone", nature="Other",
                                        contact_number="07700 900789", anytime=True,
                                        contact_id=jane.id),
        # an unlinked request with the duplicate's exact name and number is not his by key
        "unlinked": CallBackRequest(full_name="Peter Livingstone", nature="Other",
                                    contact_number="07700 900456", anytime=True),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return {"robert": robert.id, "peter": peter.id, "jane": jane.id, "case": case.id,
            **{k: v.id for k, v in rows.items()}}


def _merge(client, auth, survivor_id: int, other_id: int, **choices):
    auth.login(make_user("supervisor").email)
    url = f"/contacts/{survivor_id}/merge?other={other_id}"
    return client.post(f"/contacts/{survivor_id}/merge", data={
        "csrf_token": csrf_token(client, url), "other": other_id, **choices},
        follow_redirects=True)


def test_merge_moves_interactions_and_call_back_requests_and_erases_the_duplicate(
        client, auth, duplicates):
    d = duplicates
    resp = _merge(client, auth, d["robert"], d["peter"], phone="other", email="other")
    assert "Merged Peter Livingstone into Robert Livingstone" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Interaction, d["peter_call"]).enquirer_id == d["robert"]
    assert db.session.get(CallBackRequest, d["peter_request"]).contact_id == d["robert"]
    from helpline.cases.models import Case
    assert db.session.get(Case, d["case"]).caller_id == d["robert"]
    # the contact page lists what moved
    page = client.get(f"/contacts/{d['robert']}").get_data(as_text=True)
    assert "Food parcel for Peter" in page
    # the survivor keeps its own values and the ones chosen from the duplicate
    robert = db.session.get(Contact, d["robert"])
    assert (robert.first_name, robert.last_name, robert.phone, robert.email, robert.postcode) \
        == ("Robert", "Livingstone", "07700 900456", "peter@example.org", "B1 1AA")
    # the merged-away contact keeps no personal field (region and area stay for statistics)
    peter = db.session.get(Contact, d["peter"])
    assert peter.active is False and peter.merged_into_id == d["robert"]
    assert {f: getattr(peter, f) for f in PERSONAL} == dict.fromkeys(PERSONAL)
    assert (peter.postcode_area, peter.region) == ("B", "West Midlands")
    for v in db.session.scalars(select(Verification).where(Verification.contact_id == peter.id)):
        assert "Peter" not in (v.details or "")
    # every move is audited, by key
    moves = {(e.record_type, e.record_id, e.field, e.before, e.after) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "merge", AuditEntry.field.is_not(None)))}
    old, new = f"contact {d['peter']}", f"contact {d['robert']}"
    interaction = db.session.get(Interaction, d["peter_call"])
    case = db.session.get(Case, d["case"])
    assert {("interaction", interaction.reference, "Enquirer", old, new),
            ("call-back request", str(d["peter_request"]), "Contact", old, new),
            ("case", case.reference, "Caller", old, new)} <= moves
    # the duplicate's own audit rows no longer hold his details
    for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "contact", AuditEntry.record_id == str(d["peter"]))):
        assert "Peter" not in f"{e.before} {e.after} {e.reason}"
        assert "2 Mill Lane" not in f"{e.before} {e.after}"


def test_merge_changes_nobody_elses_rows(client, auth, duplicates):
    d = duplicates
    before = _rows()
    _merge(client, auth, d["robert"], d["peter"], phone="other")
    after = _rows()
    changed = {k for k in before if k in after and before[k] != after[k]}
    removed = set(before) - set(after)
    peter_audit = {("audit_entries", i) for i in db.session.scalars(select(AuditEntry.id).where(
        AuditEntry.record_type == "contact", AuditEntry.record_id == str(d["peter"])))}
    peter_checks = {("contact_verifications", i) for i in db.session.scalars(
        select(Verification.id).where(Verification.contact_id == d["peter"]))} | \
        {k for k in removed if k[0] == "contact_verifications"}
    moved = {("contacts", d["robert"]), ("contacts", d["peter"]), ("cases", d["case"]),
             ("interactions", d["peter_call"]), ("callback_requests", d["peter_request"])}
    assert changed - moved - peter_audit - peter_checks == set()
    assert removed - peter_checks == set()
    for key in (("contacts", d["jane"]), ("interactions", d["jane_call"]),
                ("interactions", d["robert_call"]), ("callback_requests", d["jane_request"]),
                ("callback_requests", d["unlinked"])):
        assert after[key] == before[key], key  # byte for byte


def test_merge_refused_without_csrf_changes_nothing(client, auth, duplicates):
    d = duplicates
    auth.login(make_user("supervisor").email)
    before = _rows()
    resp = client.post(f"/contacts/{d['robert']}/merge", data={"other": d["peter"]})
    assert resp.status_code in (200, 400)
    after = _rows()
    assert {k for k in before if before[k] != after.get(k)} <= {
        k for k in before if k[0] in ("user_sessions", "audit_entries")}
    assert db.session.get(Interaction, d["peter_call"]).enquirer_id == d["peter"]
