"""Must show (b): a complaint flagged on Friday night is still in Morning Review on Monday
until someone marks it reviewed; morning reviewers who are not supervisors (seed 000: a
volunteer and a data-team member check complaints in the morning) open it, a plain
volunteer cannot. Time is moved as elsewhere in the suite: the record's own clock is set
back to when it happened (Friday 04/12/2026 23:30 London; the shift window the review
used to have would have dropped it at the start of Sunday's night shift)."""
from datetime import datetime

import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.auth.models import User
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.supervisor.models import ReviewMark
from helpline.timeutil import london_to_utc
from tests.cases.helpers import item, seed_lists
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user

FRIDAY_NIGHT = london_to_utc(datetime(2026, 12, 4, 23, 30))


@pytest.fixture
def complaint(app, client, auth):
    """A complaint (Out of Remit: "Complaint about our response") taken on Friday night."""
    seed_lists()
    elliot = make_user("supervisor", name="Elliot Hunter")
    caller = make_contact(elliot)
    auth.login(elliot.email)
    resp = client.post("/interactions/new", data={
        "csrf_token": csrf_token(client, "/interactions/new"), "enquirer_id": caller.id,
        "interaction_date": "04/12/2026 23:30", "direction": "Inbound",
        "out_of_remit": "y", "notes": "Unhappy with how the last call went",
        "out_of_remit_reason_id": item("out_of_remit_reason", "Complaint about our response").id,
        "handlers": [elliot.id]})
    assert resp.status_code == 302
    row = db.session.scalar(select(Interaction))
    row.created_at = FRIDAY_NIGHT  # saved then: the record's clock goes back
    db.session.commit()
    return {"elliot": elliot, "interaction": row}


def _make_reviewer(app, role: str, name: str) -> User:
    """An administrator ticks "Morning reviewer" on the user's edit form."""
    user = make_user(role, name=name)
    admin = client_for(app, make_user("admin"))
    url = f"/admin/users/{user.id}/edit"
    page = admin.get(url).get_data(as_text=True)
    assert "Morning reviewer" in page
    resp = admin.post(url, data={"csrf_token": csrf_token(admin, url), "name": name,
                                 "role": role, "teams": [t.id for t in user.teams],
                                 "default_team": user.default_team_id or "",
                                 "language": "English (UK)", "morning_reviewer": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.morning_reviewer
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.record_type == "user", AuditEntry.record_id == str(user.id),
        AuditEntry.field == "morning_reviewer"))
    assert (entry.before, entry.after) == ("No", "Yes")
    return user


def test_a_friday_night_complaint_is_still_there_on_monday_until_marked(app, client,
                                                                        complaint):
    ref = complaint["interaction"].reference
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Complaints (1)" in page and ref in page
    assert "since 04/12/2026 23:30" in page
    assert 'id="review-count">1<' in page  # the badge counts it
    # still there on every later look, for every supervisor, until someone marks it
    other = client_for(app, make_user("supervisor"))
    assert ref in other.get("/supervisor/").get_data(as_text=True)
    key = f"interaction:{complaint['interaction'].id}:complaints"
    client.post(f"/supervisor/review/{key}", data={"csrf_token": csrf_token(client, "/supervisor/")})
    mark = db.session.scalar(select(ReviewMark))
    assert mark.item_key == key and mark.reviewed_by_id == complaint["elliot"].id
    after = other.get("/supervisor/").get_data(as_text=True)
    assert "Complaints (" not in after and "Nothing to review." in after
    assert 'id="review-count">0<' in after


@pytest.mark.parametrize("role,name", [("volunteer", "Angie Greenaway-Samuel"),
                                       ("data", "Maggie Evans")])
def test_a_morning_reviewer_who_is_not_a_supervisor_opens_it(app, complaint, role, name):
    reviewer = client_for(app, _make_reviewer(app, role, name))
    ref = complaint["interaction"].reference
    home = reviewer.get("/").get_data(as_text=True)
    assert "Morning Review" in home and 'id="review-count">1<' in home
    page = reviewer.get("/supervisor/")
    assert page.status_code == 200 and ref in page.get_data(as_text=True)
    # the flagged call opens for them without verifying the caller (for a volunteer that is
    # audited as such; the data team never verifies)
    shown = reviewer.get(f"/interactions/{complaint['interaction'].id}")
    assert shown.status_code == 200 and "Unhappy with how the last call went" in shown.get_data(
        as_text=True)
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "access-by-reviewer", AuditEntry.record_id == ref)) == (
            1 if role == "volunteer" else 0)
    key = f"interaction:{complaint['interaction'].id}:complaints"
    assert reviewer.post(f"/supervisor/review/{key}", data={
        "csrf_token": csrf_token(reviewer, "/supervisor/")}).status_code == 302
    assert db.session.scalar(select(ReviewMark.item_key)) == key


def test_a_plain_volunteer_cannot_open_the_morning_review(app, complaint):
    volunteer = client_for(app, make_user("volunteer"))
    home = volunteer.get("/").get_data(as_text=True)
    assert "Morning Review" not in home and 'id="review-count"' not in home
    resp = volunteer.get("/supervisor/")
    assert resp.status_code == 403 and "morning reviewer" in resp.get_data(as_text=True)
    key = f"interaction:{complaint['interaction'].id}:complaints"
    refused = volunteer.post(f"/supervisor/review/{key}", data={
        "csrf_token": csrf_token(volunteer, "/interactions/new")})
    assert refused.status_code == 403
    assert db.session.scalar(select(func.count(ReviewMark.id))) == 0
    # nor the complaint itself, without verifying its caller
    assert volunteer.get(f"/interactions/{complaint['interaction'].id}").status_code == 403


def test_the_upgrade_queues_what_was_flagged_and_never_marked(tmp_path, redis_server):
    """Migration f15a0000c001: complaints, interventions, call backs required, handlers
    assigned by someone else and safeguarding cases flagged before it wait in the review
    unless someone had marked them; every user starts as no morning reviewer."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from helpline import create_app
    from helpline.supervisor.models import ReviewItem
    from tests.conftest import ROOT
    from tests.core.test_upgrade import _database

    url = _database(tmp_path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_server.url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="e18a0a0a0001")
        t = datetime(2026, 12, 4, 23, 30)
        with db.engine.begin() as conn:
            run = lambda sql, **kw: conn.execute(text(sql), kw)  # noqa: E731
            for uid in (1, 2):
                run("INSERT INTO users (id, email, name, password_hash, role,"
                    " frontline_operator, data_lead, language, active, created_at,"
                    " password_must_change) VALUES (:id, :e, 'U', 'x', 'volunteer', false,"
                    " false, 'English (UK)', true, :t, false)", id=uid, e=f"u{uid}@x.org", t=t)
            run("INSERT INTO lookup_items (id, list_name, name, position, retired,"
                " counts_as_success, counts_as_complaint) VALUES"
                " (1, 'out_of_remit_reason', 'Complaint about our response', 0, false, false,"
                " true), (2, 'emergency_intervention', 'Police called', 0, false, false, false)")
            for iid, remit, callback in ((1, True, False), (2, False, True), (3, False, False),
                                         (4, True, False)):
                run("INSERT INTO interactions (id, fully_anonymous, interaction_date, direction,"
                    " out_of_remit, out_of_remit_reason_id, community, covid_related,"
                    " call_back_required, created_at) VALUES (:id, true, :t, 'Inbound', :r,"
                    " :reason, false, false, :cb, :t)", id=iid, t=t, r=remit,
                    reason=1 if remit else None, cb=callback)
            run("INSERT INTO interaction_interventions (interaction_id, item_id) VALUES (3, 2)")
            run("INSERT INTO interaction_handlers (id, interaction_id, user_id, assigned_by_id,"
                " assigned_at) VALUES (1, 1, 1, 1, :t), (2, 1, 2, 1, :t)", t=t)
            run("INSERT INTO review_marks (item_key, reviewed_by_id, reviewed_at) VALUES"
                " ('interaction:4:complaints', 1, :t)", t=t)
        upgrade(directory=str(ROOT / "migrations"))
        queued = {(r.item_key, r.grp, r.record_id, r.user_id) for r in
                  db.session.scalars(select(ReviewItem))}
        assert queued == {("interaction:1:complaints", "complaints", 1, None),
                          ("interaction:2:call", "call", 2, None),
                          ("interaction:3:emergency", "emergency", 3, None),
                          ("interaction:1:assigned", "assigned", 1, 2)}
        assert not any(u.morning_reviewer for u in db.session.scalars(select(User)))
        db.session.remove()
        db.engine.dispose()


def test_a_safeguarding_case_waits_once_and_an_ordinary_save_adds_nothing(app, client):
    """Flagged through the case screen: the review hears of it as it is saved."""
    from helpline.cases.models import Case
    from helpline.supervisor.models import ReviewItem
    from tests.cases.helpers import case_form

    seed_lists()
    sup = make_user("supervisor")
    caller = make_contact(sup)
    client_ = client_for(app, sup)
    url = f"/cases/new/{caller.id}"
    resp = client_.post(url, data={**case_form(safeguarding_activated="yes",
                                               safeguarding_reason="Lives alone, at risk"),
                                   "csrf_token": csrf_token(client_, url)})
    assert resp.status_code == 302
    case = db.session.scalar(select(Case))
    assert case.safeguarding_activated
    page = client_.get("/supervisor/").get_data(as_text=True)
    assert "Safeguarding activated (1)" in page and "Lives alone, at risk" in page
    # a later save of the same case flags nothing new
    case_url = f"/cases/{case.id}"
    client_.post(case_url, data={**case_form(safeguarding_activated="yes",
                                             safeguarding_reason="Lives alone, at risk",
                                             note="Rang back", version=str(case.version)),
                                 "csrf_token": csrf_token(client_, case_url)})
    db.session.expire_all()
    assert "Rang back" in [n.text for n in db.session.get(Case, case.id).notes]  # saved
    assert db.session.scalar(select(func.count(ReviewItem.id)).where(
        ReviewItem.grp == "safeguarding")) == 1
    key = f"case:{case.id}:safeguarding"
    client_.post(f"/supervisor/review/{key}",
                 data={"csrf_token": csrf_token(client_, "/supervisor/")})
    assert "Safeguarding activated (" not in client_.get("/supervisor/").get_data(as_text=True)
