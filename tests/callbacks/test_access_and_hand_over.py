"""Issue 14, points 4 and 5: the people the work belongs to open the case and the contact
without a fresh verification; a view-only hand-over sees everything and changes only the
call back."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.callbacks import services
from helpline.callbacks.models import CallBack, CaseViewGrant
from helpline.cases.models import CaseNote
from helpline.cases.services import create_case
from helpline.contacts.models import Verification
from helpline.extensions import db
from helpline.timeutil import london_format, utcnow
from tests.cases.helpers import case_form
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user



@pytest.fixture
def people(app):
    olly = make_user("volunteer", name="Olly Owner", team="Call Back Team")
    vic = make_user("volunteer", name="Vic Caller", team="Call Back Team")
    wes = make_user("volunteer", name="Wes Other", team="Call Back Team")
    cat = make_user("volunteer", name="Cat Handed", team="Call Back Team")
    sue = make_user("supervisor", name="Sue Leader", team="Call Back Team")
    contact = make_contact(olly, first_name="Jane", last_name="Doe")
    case = create_case(contact, "Benefits question", olly)
    db.session.commit()
    now = utcnow()
    # Vic took the call and promised to ring back herself ("Myself"), due now
    cb = services.create(case, services.CallBackInput(
        "07700 900123", "Ring Jane about her form", now, None, True, now + timedelta(minutes=4),
        now + timedelta(hours=2), False, True, "me"), vic)
    db.session.commit()
    return {"olly": olly, "vic": vic, "wes": wes, "cat": cat, "sue": sue, "contact": contact,
            "case": case, "cb": cb}


def _hrefs(html: str, label: str) -> str:
    return re.search(rf'href="([^"]+)">{label}</a>', html).group(1)


def test_a_volunteer_opens_the_case_from_their_own_reminder_without_verifying(app, people):
    p = people
    assert services.fire_due() == 1
    vic = client_for(app, p["vic"])  # a new session: nothing verified in it
    page = vic.get("/").get_data(as_text=True)
    assert "Call back due: " + p["case"].reference in page
    case_page = vic.get(_hrefs(page, "Open case"))
    assert case_page.status_code == 200 and "Benefits question" in case_page.get_data(as_text=True)
    contact_page = vic.get(_hrefs(page, "Open contact")).get_data(as_text=True)
    assert "Verify the caller" not in contact_page and "Benefits question" in contact_page
    assert "Shown without verification: you are the owner of call back" in contact_page
    # audited as access by owner, never as a verification
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.actor_id == p["vic"].id, AuditEntry.action == "access-by-owner")).all()
    assert {(e.record_type, e.record_id) for e in entries} == {
        ("case", p["case"].reference), ("contact", str(p["contact"].id))}
    assert all("no verification recorded" in e.reason for e in entries)
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.actor_id == p["vic"].id, AuditEntry.action == "verify")) == 0
    assert db.session.scalar(select(func.count(Verification.id)).where(
        Verification.user_id == p["vic"].id, Verification.session_id != "factory")) == 0


def test_another_volunteer_still_has_to_verify(app, people):
    p = people
    wes = client_for(app, p["wes"])
    resp = wes.get(f"/cases/{p['case'].id}")
    assert resp.status_code == 403 and "Verify the caller" in resp.get_data(as_text=True)
    contact_page = wes.get(f"/contacts/{p['contact'].id}").get_data(as_text=True)
    assert "Verify the caller" in contact_page and "Benefits question" not in contact_page
    assert wes.get(f"/callbacks/{p['cb'].id}").status_code == 403


def test_the_case_owner_and_assignee_open_it_too(app, people):
    p = people
    assert client_for(app, p["olly"]).get(f"/cases/{p['case'].id}").status_code == 200
    p["case"].assignee_id = p["wes"].id
    db.session.commit()
    wes = client_for(app, p["wes"])
    assert wes.get(f"/cases/{p['case'].id}").status_code == 200
    assert "Verify the caller" not in wes.get(f"/contacts/{p['contact'].id}").get_data(
        as_text=True)


def test_once_the_call_back_is_closed_it_is_verification_again(app, people):
    p = people
    services.close(p["cb"], "Done", p["vic"])
    db.session.commit()
    assert client_for(app, p["vic"]).get(f"/cases/{p['case'].id}").status_code == 403


# --- view-only hand-over ------------------------------------------------------------

def _hand_over(app, p, user_id):
    sue = client_for(app, p["sue"])
    url = f"/callbacks/{p['cb'].id}"
    return sue.post(f"{url}/hand-over", data={"csrf_token": csrf_token(sue, url),
                                              "user_id": str(user_id)})


def test_a_hand_over_sees_everything_and_changes_only_the_call_back(app, people):
    p = people
    assert _hand_over(app, p, p["cat"].id).status_code == 302
    db.session.expire_all()
    cb = db.session.get(CallBack, p["cb"].id)
    assert cb.owner_id == p["cat"].id
    assert "View-only hand-over" in client_for(app, p["cat"]).get("/notifications").get_data(
        as_text=True)
    cat = client_for(app, p["cat"])
    case_url = f"/cases/{p['case'].id}"
    page = cat.get(case_url).get_data(as_text=True)
    assert "View only" in page and "<fieldset class=\"hl-plain\" disabled>" in page
    assert "Benefits question" in page and 'id="add-note"' not in page
    contact = cat.get(f"/contacts/{p['contact'].id}").get_data(as_text=True)
    assert "Benefits question" in contact and "Edit contact details" not in contact
    token = csrf_token(cat, case_url)
    notes = db.session.scalar(select(func.count(CaseNote.id)))
    refused = [
        cat.post(f"{case_url}/notes", data={"csrf_token": token, "note": "planted"}),
        cat.post(case_url, data={**case_form(title="Changed", version="1"), "csrf_token": token}),
        cat.post(f"{case_url}/assign", data={"csrf_token": token,
                                             "assignee": f"user-{p['cat'].id}"}),
        cat.post(f"{case_url}/close", data={"csrf_token": token}),
        cat.post(f"/contacts/{p['contact'].id}/edit", data={"csrf_token": token,
                                                            "first_name": "X", "reason": "x"}),
        cat.get(f"/callbacks/new/{p['case'].id}"),
    ]
    for resp in refused:
        assert resp.status_code == 403
        assert "view-only access" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CaseNote.id))) == notes
    assert p["case"].title == "Benefits question" and p["contact"].first_name == "Jane"
    # the call back's own actions are allowed
    cb_url = f"/callbacks/{cb.id}"
    new_end = london_format(cb.end_at + timedelta(hours=1))
    resp = cat.post(f"{cb_url}/times", data={"csrf_token": csrf_token(cat, cb_url),
                                             "start": london_format(cb.start_at), "end": new_end})
    assert resp.status_code == 302
    resp = cat.post(f"{cb_url}/close", data={"csrf_token": csrf_token(cat, cb_url),
                                             "status": "Done"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(CallBack, cb.id).status == "Done"
    grant = db.session.scalar(select(CaseViewGrant))
    assert grant.ended_at is not None and "closed" in grant.end_reason
    assert cat.get(case_url).status_code == 403  # ended with the call back


def test_a_verified_hand_over_is_still_view_only(app, people):
    p = people
    _hand_over(app, p, p["cat"].id)
    cat = client_for(app, p["cat"])
    url = f"/contacts/{p['contact'].id}"
    cat.post(f"{url}/verify", data={"csrf_token": csrf_token(cat, url), "details": ["Name"]})
    case_url = f"/cases/{p['case'].id}"
    resp = cat.post(f"{case_url}/notes", data={"csrf_token": csrf_token(cat, case_url),
                                               "note": "planted"})
    assert resp.status_code == 403


@pytest.mark.parametrize("who,message", [
    ("", "Choose the caseworker to hand the call back to"),
    ("olly", "already works the case"),
    ("sue", "Choose an active caseworker"),
    ("²", "Choose an active caseworker"),  # isdigit() but not an int: was a 500
])
def test_bad_hand_overs_are_explained_at_the_field(app, people, who, message):
    p = people
    resp = _hand_over(app, p, p[who].id if who in p else who)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in html
    assert re.search(r'id="user_id-error"[^>]*>.*?' + re.escape(message), html, re.S)
    assert db.session.scalar(select(func.count(CaseViewGrant.id))) == 0
    db.session.expire_all()
    assert db.session.get(CallBack, p["cb"].id).owner_id == p["vic"].id


def test_moving_the_call_back_on_ends_the_hand_over(app, people):
    p = people
    _hand_over(app, p, p["cat"].id)
    services.reassign(db.session.get(CallBack, p["cb"].id), p["wes"], p["sue"])
    db.session.commit()
    assert db.session.scalar(select(CaseViewGrant)).ended_at is not None
    assert client_for(app, p["cat"]).get(f"/cases/{p['case'].id}").status_code == 403


def test_owning_one_case_of_a_person_shows_only_that_case_and_no_edit(app):
    """Review finding (High): a volunteer who makes themselves the owner of a case with
    someone as beneficiary sees that case only, never the person's other cases, and must
    verify before changing the person's details."""
    from tests.cases.helpers import seed_lists
    seed_lists()
    other = make_user("volunteer", name="Other Handler")
    sneaky = make_user("volunteer", name="Sneaky Volunteer")
    target = make_contact(other, first_name="Tessa", last_name="Target", phone="07700 900777")
    secret = create_case(target, "Secret case about Tessa", other)
    mine_caller = make_contact(sneaky, first_name="Any", last_name="Caller", phone="07700 900778")
    mine = create_case(mine_caller, "My own case", sneaky)
    mine.beneficiary_id = target.id
    db.session.commit()
    client = client_for(app, sneaky)
    page = client.get(f"/contacts/{target.id}").get_data(as_text=True)
    assert "My own case" in page and "Secret case about Tessa" not in page
    edit = client.get(f"/contacts/{target.id}/edit", follow_redirects=True)
    assert "Verify the caller before changing their details" in edit.get_data(as_text=True)
    assert client.get(f"/cases/{secret.id}").status_code == 403
