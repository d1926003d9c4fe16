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
