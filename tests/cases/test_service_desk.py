"""Assign → acknowledge → resolve (solution + cause) → close, with history."""
from sqlalchemy import select

from helpline.catcher import read_messages
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.notifications.models import Notification
from tests.cases.helpers import seed_lists
from tests.conftest import AuthActions, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user


def test_assign_acknowledge_resolve_close(app, client, auth, smtp):
    seed_lists()
    owner = make_user("supervisor", name="Elliot Hunter")
    angie = make_user("supervisor", name="Angie Greenaway-Samuel",
                      email="angie@example.org")
    case = create_case(make_contact(owner), "Laptop will not start", owner)
    db.session.commit()
    url = f"/cases/{case.id}"
    auth.login(owner.email)
    token = csrf_token(client, url)
    resp = client.post(f"{url}/assign", data={"csrf_token": token,
                                              "assignee": f"user-{angie.id}"},
                       follow_redirects=True)
    assert "assigned to Angie Greenaway-Samuel" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "Assigned"
    note = db.session.scalar(select(Notification).where(Notification.user_id == angie.id))
    assert f"You have been assigned to the Helpline Case {case.reference}" == note.title
    run_jobs(app)
    mails = [m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]
    assert mails and case.reference in mails[0]["subject"]
    assert f"/cases/{case.id}" in mails[0]["body"]

    # only the assignee can acknowledge
    refused = client.post(f"{url}/acknowledge", data={"csrf_token": token},
                          follow_redirects=True)
    assert "Only Angie Greenaway-Samuel can acknowledge" in refused.get_data(as_text=True)
    other = app.test_client()
    AuthActions(other).login(angie.email)
    t2 = csrf_token(other, url)
    other.post(f"{url}/acknowledge", data={"csrf_token": t2})
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "Acknowledged"

    # resolve needs both Solution and Cause
    no_cause = other.post(f"{url}/resolve", data={"csrf_token": t2, "solution": "Reset it",
                                                  "cause": ""})
    page = no_cause.get_data(as_text=True)
    assert "Enter the Cause" in page
    # walk finding: the refused Resolve had no error summary and no "Error:" title
    assert no_cause.status_code == 422
    assert "<title>Error: " in page
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert 'href="#cause"' in summary and "Enter the Cause" in summary
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "Acknowledged"
    other.post(f"{url}/resolve", data={"csrf_token": t2, "solution": "Reset it",
                                       "cause": "Power cable"})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.solution, case.cause) == ("Solved", "Reset it", "Power cable")
    # the owner (now Angie, who acknowledged) can Quick Close
    page = other.get(url).get_data(as_text=True)
    assert "Quick Close" in page
    other.post(f"{url}/close", data={"csrf_token": t2, "quick": "1"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "Closed"
    history = other.get(url).get_data(as_text=True)
    for step in ("Open → Assigned", "Assigned → Acknowledged", "Acknowledged → Solved",
                 "Solved → Closed"):
        assert step in history


def test_assign_to_a_team_notifies_its_members(app, client, auth):
    seed_lists()
    owner = make_user("supervisor", team="Information Officers")
    member = make_user("volunteer", team="Night Shift")
    case = create_case(make_contact(owner), "Needs a call back tonight", owner)
    db.session.commit()
    auth.login(owner.email)
    url = f"/cases/{case.id}"
    client.post(f"{url}/assign", data={"csrf_token": csrf_token(client, url),
                                       "assignee": f"team-{member.teams[0].id}"})
    assert db.session.scalar(select(Notification).where(Notification.user_id == member.id))
    db.session.expire_all()
    assert db.session.get(Case, case.id).team.name == "Night Shift"


def test_the_history_names_who_created_the_case_not_its_owner_now(app, client, auth):
    """Walk finding: after an assignment the history said "created (Open) by" the new owner."""
    seed_lists()
    volunteer = make_user("volunteer", name="Vera Volunteer")
    leader = make_user("supervisor", name="Elliot Hunter")
    case = create_case(make_contact(volunteer), "Laptop will not start", volunteer)
    db.session.commit()
    auth.login(leader.email)
    url = f"/cases/{case.id}"
    client.post(f"{url}/assign", data={"csrf_token": csrf_token(client, url),
                                       "assignee": f"user-{leader.id}"})
    page = client.get(url).get_data(as_text=True)
    assert "created (Open) by Vera Volunteer" in page


def test_assigning_to_whom_it_is_already_assigned_is_refused_and_writes_no_history(
        app, client, auth):
    """Walk finding (issue 15): assigning a case to the team it was already in wrote an empty
    line into the history. Now it says so at the field and nothing is written; taking it
    back from a handler into the same team's queue records who it was taken from."""
    from helpline.audit.models import AuditEntry
    seed_lists()
    owner = make_user("supervisor", name="Elliot Hunter", team="Night Shift")
    member = make_user("volunteer", name="Nina Night", team="Night Shift")
    case = create_case(make_contact(owner), "Needs a call back tonight", owner)
    db.session.commit()
    auth.login(owner.email)
    url = f"/cases/{case.id}"
    team = f"team-{member.teams[0].id}"

    def assign(value):
        return client.post(f"{url}/assign", data={"csrf_token": csrf_token(client, url),
                                                  "assignee": value})

    def entries():
        return db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "assign").order_by(AuditEntry.id)).all()

    assert assign(team).status_code == 302
    again = assign(team)
    assert again.status_code == 422
    assert "The case is already in the Night Shift queue" in again.get_data(as_text=True)
    # it was already the team's case: the history says it went into the queue
    assert [(e.field, e.after) for e in entries()] == [("Assigned to", "Night Shift queue")]
    assert assign(f"user-{member.id}").status_code == 302
    again = assign(f"user-{member.id}")
    assert again.status_code == 422
    assert "The case is already assigned to Nina Night" in again.get_data(as_text=True)
    assert assign(team).status_code == 302  # back into the team's queue
    assert [(e.field, e.before, e.after) for e in entries()][-1] == (
        "Assigned to", "Nina Night", "Night Shift queue")
    assert all(e.field for e in entries())  # no empty lines
