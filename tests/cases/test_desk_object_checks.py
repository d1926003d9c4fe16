"""Issue 16, object checks: acknowledge is the assignee's (or, for a team queue, a team
member's); close follows HEAT's rule (seed 003: once Solved, the technician may Quick Close
and the Owner may close; a supervisor at any stage). Every refusal is a 403 page that says
whose the action is, and the case is left unchanged."""
from sqlalchemy import select

from helpline.auth.models import Team
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.extensions import db
from tests.cases.helpers import seed_lists
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def _verified(app, user, case):
    """A volunteer who has verified the caller this session (so may open the case)."""
    c = client_for(app, user)
    url = f"/contacts/{case.caller_id}"
    assert c.post(f"{url}/verify", data={"csrf_token": csrf_token(c, url),
                                         "details": ["Name", "Postcode"]}).status_code == 302
    return c


def _post(c, case, action, **data):
    url = f"/cases/{case.id}"
    return c.post(f"{url}/{action}", data={"csrf_token": csrf_token(c, url), **data})


def _state(case_id):
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return case.status, case.owner_id, case.assignee_id, case.version


def _world(app):
    seed_lists()
    owner = make_user("volunteer", name="Olive Owner", team="Night Shift")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", team="Night Shift")
    other = make_user("volunteer", name="Oscar Other", team="Day Shift")
    leader = make_user("supervisor", name="Team Leader", team="Day Shift")
    case = create_case(make_contact(owner), "Laptop will not start", owner)
    db.session.commit()
    return owner, angie, other, leader, case


def test_only_the_assignee_acknowledges_others_get_a_403(app):
    owner, angie, other, leader, case = _world(app)
    lc = client_for(app, leader)
    assert _post(lc, case, "assign", assignee=f"user-{angie.id}").status_code == 302
    before = _state(case.id)
    refused = _post(_verified(app, other, case), case, "acknowledge")
    assert refused.status_code == 403
    assert "Only Angie Greenaway-Samuel can acknowledge this case" in refused.get_data(
        as_text=True)
    assert _state(case.id) == before
    assert _post(_verified(app, angie, case), case, "acknowledge").status_code == 302
    assert _state(case.id)[0] == "Acknowledged"


def test_a_team_queue_case_is_acknowledged_by_a_member(app):
    owner, angie, other, leader, case = _world(app)
    lc = client_for(app, leader)
    team = db.session.scalar(select(Team).where(Team.name == "Night Shift"))
    assert _post(lc, case, "assign", assignee=f"team-{team.id}").status_code == 302
    before = _state(case.id)
    outsider = _verified(app, other, case)
    assert "Acknowledge</button>" not in outsider.get(f"/cases/{case.id}").get_data(
        as_text=True)  # not offered to someone who may not
    refused = _post(outsider, case, "acknowledge")
    assert refused.status_code == 403
    assert "Only a member of Night Shift (or a supervisor) can acknowledge" in \
        refused.get_data(as_text=True)
    assert _state(case.id) == before
    assert _post(_verified(app, angie, case), case, "acknowledge").status_code == 302
    # HEAT: taking it from the team queue makes Angie the assignee; Olive stays the owner
    assert _state(case.id)[:3] == ("Acknowledged", owner.id, angie.id)


def test_close_is_the_owners_once_solved_and_a_supervisors_at_any_stage(app):
    owner, angie, other, leader, case = _world(app)
    owner_c, other_c = _verified(app, owner, case), _verified(app, other, case)
    before = _state(case.id)
    # someone else's case: refused whatever its status
    refused = _post(other_c, case, "close")
    assert refused.status_code == 403
    assert "Only Olive Owner or a supervisor can close this case." in refused.get_data(
        as_text=True)
    # the owner, before it is Solved: refused, told what to do
    early = _post(owner_c, case, "close")
    assert early.status_code == 403
    assert "Resolve the case first (Solution and Cause)" in early.get_data(as_text=True)
    assert _state(case.id) == before
    page = owner_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Close case" not in page and "Once the case is Solved its owner can close it" in page
    # resolved: the owner may Quick Close
    assert _post(owner_c, case, "resolve", solution="Reset it",
                 cause="Power cable").status_code == 302
    assert "Quick Close" in owner_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert _post(other_c, case, "close", quick="1").status_code == 403
    assert _state(case.id)[0] == "Solved"
    assert _post(owner_c, case, "close", quick="1").status_code == 302
    assert _state(case.id)[0] == "Closed"


def test_a_supervisor_closes_an_open_case_giving_a_reason(app):
    """Issue 15: a supervisor can close anything but says why (a field message if not)."""
    owner, angie, other, leader, case = _world(app)
    lc = client_for(app, leader)
    page = lc.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Close case" in page and "Reason for closing" in page
    before = _state(case.id)
    no_reason = _post(lc, case, "close")
    assert no_reason.status_code == 422
    text = no_reason.get_data(as_text=True)
    assert "<title>Error: " in text and 'href="#reason"' in text
    assert "Enter the reason for closing" in text
    assert _state(case.id) == before
    assert _post(lc, case, "close", reason="Duplicate of another case").status_code == 302
    assert _state(case.id)[0] == "Closed"
    history = lc.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Open → Closed by Team Leader (Duplicate of another case)" in history


def test_an_outsider_cannot_assign_the_case_to_themselves_or_resolve_it(app):
    """Review finding: the acknowledge and close checks were bypassed by assigning the case
    to oneself first; assign and resolve are the owner's, the assignee's or a supervisor's."""
    owner, angie, other, leader, case = _world(app)
    other_c = _verified(app, other, case)
    before = _state(case.id)
    to_self = _post(other_c, case, "assign", assignee=f"user-{other.id}")
    assert to_self.status_code == 403
    assert "Only Olive Owner or a supervisor can assign or resolve this case" in \
        to_self.get_data(as_text=True)
    resolved = _post(other_c, case, "resolve", solution="Reset it", cause="Power cable")
    assert resolved.status_code == 403
    assert _state(case.id) == before
    page = other_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'action="/cases/%d/assign"' % case.id not in page
    # the owner may
    owner_c = _verified(app, owner, case)
    assert _post(owner_c, case, "assign", assignee=f"user-{angie.id}").status_code == 302
    assert _state(case.id)[:3] == ("Assigned", owner.id, angie.id)  # the owner stays


def test_assign_to_an_unknown_kind_is_refused_not_a_500(app):
    """Found by the type check: a posted value neither user-N nor team-N loaded a Team and
    then asked it for .active (Teams have none), a 500. It is refused as no choice."""
    owner, angie, other, leader, case = _world(app)
    lc = client_for(app, leader)
    team = db.session.scalar(select(Team).where(Team.name == "Night Shift"))
    before = _state(case.id)
    resp = _post(lc, case, "assign", assignee=f"group-{team.id}")
    # issue 15: the refusal is a message at the Assign field (was a flash after a redirect)
    assert resp.status_code == 422
    assert _state(case.id) == before
    page = resp.get_data(as_text=True)
    assert "<title>Error: " in page and 'href="#assignee"' in page
    assert 'id="assignee-error"' in page
    assert "Choose a handler or a team to assign the case to" in page
