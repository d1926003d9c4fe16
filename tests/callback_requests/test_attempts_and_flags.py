"""Issue 14, point 5: who records attempts, who gets the prompt, who is offered for
allocation, the attempt limit per request type with Stop calling, and flags (not names)
deciding what counts as a successful call or a complaint."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpline.callbacks.models import CallBack
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.callback_requests.models import CallAttempt, CallBackRequest
from helpline.timeutil import london_format, utcnow
from tests.cases.helpers import item, seed_lists
from tests.conftest import client_for, csrf_token
from tests.factories import make_user
from tests.callback_requests.test_requests import new_request


def later(hours=3):
    return london_format(utcnow() + timedelta(hours=hours))


@pytest.fixture
def world(app, client, auth):
    seed_lists()
    people = {
        "leader": make_user("supervisor", name="Team Leader", email="leader@example.org",
                            team="Call Back Team"),
        "worker": make_user("volunteer", name="Casey Worker", email="casey@example.org",
                            team="Call Back Team"),
        "volunteer": make_user("volunteer", name="Vol Unteer", team="Call Back Team"),
        # alphabetically first, but in another team: offered after the receiving team
        "outsider": make_user("volunteer", name="Aaron Outsider", team="Night Shift"),
    }
    auth.login(people["volunteer"].email)
    return people



def allocate(app, client, world, **request_fields):
    assert new_request(client, **request_fields).status_code == 302
    req = db.session.scalars(select(CallBackRequest).order_by(CallBackRequest.id.desc())).first()
    leader = client_for(app, world["leader"])
    url = f"/callback-requests/{req.id}"
    resp = leader.post(f"{url}/allocate", data={"csrf_token": csrf_token(leader, url),
                                                "caseworker": world["worker"].id})
    assert resp.status_code == 302
    return req, leader


def attempt(client, req, **data):
    url = f"/callback-requests/{req.id}"
    data["csrf_token"] = csrf_token(client, url)
    return client.post(f"{url}/attempts", data=data)


def attempts_of(req) -> int:
    return db.session.scalar(select(func.count(CallAttempt.id)).where(
        CallAttempt.request_id == req.id))


def test_allocation_offers_the_receiving_teams_caseworkers_first(app, client, world):
    new_request(client)  # the volunteer's default team is the Call Back Team
    req = db.session.scalar(select(CallBackRequest))
    html = client_for(app, world["leader"]).get(f"/callback-requests/{req.id}").get_data(
        as_text=True)
    select_html = html[html.index('name="caseworker"'):]
    select_html = select_html[:select_html.index("</select>")]
    team = select_html.index('<optgroup label="Call Back Team (receiving team)">')
    others = select_html.index('<optgroup label="Other caseworkers">')
    assert team < select_html.index("Casey Worker") < others
    assert others < select_html.index("Aaron Outsider")


def test_only_the_allocated_caseworker_or_a_team_leader_records_attempts(app, client, world):
    req, leader = allocate(app, client, world)
    page = client.get(f"/callback-requests/{req.id}").get_data(as_text=True)
    assert "Calls on this request are recorded by Casey Worker or a team leader" in page
    refused = attempt(client, req, result="Contact not made message left", next_call_at=later())
    assert refused.status_code == 403
    assert "Only the allocated caseworker (Casey Worker) or a team leader" in \
        refused.get_data(as_text=True)
    assert attempts_of(req) == 0
    # the team leader records a call: the next-call prompt goes to the caseworker
    ok = attempt(leader, req, result="Contact not made message left", next_call_at=later(6))
    assert ok.status_code == 302 and attempts_of(req) == 1
    prompt = db.session.scalar(select(CallBack).where(CallBack.request_id == req.id,
                                                      CallBack.status == "Open"))
    assert prompt.owner_id == world["worker"].id
    # and the caseworker's own attempt is accepted too
    worker = client_for(app, world["worker"])
    assert attempt(worker, req, result="Contact not made no message left",
                   next_call_at=later(8)).status_code == 302
    assert attempts_of(req) == 2


def test_a_fourth_attempt_on_a_downtime_application_is_accepted(app, client, world):
    req, _ = allocate(app, client, world, downtime="y", offline_template="PP Applies GB")
    worker = client_for(app, world["worker"])
    page = worker.get(f"/callback-requests/{req.id}").get_data(as_text=True)
    assert "Application taken during system downtime (PP Applies GB)" in page
    assert "as many as needed" in page
    for n in range(4):
        resp = attempt(worker, req, result="Called contact not made", next_call_at=later(n + 4))
        assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    assert attempts_of(req) == 4
    assert db.session.get(CallBackRequest, req.id).status == "Awaiting Calls"
    no_next = attempt(worker, req, result="Called contact not made")
    assert no_next.status_code == 422 and "or Stop calling" in no_next.get_data(as_text=True)


def test_a_fourth_attempt_on_an_ordinary_request_is_refused_with_the_reason(app, client, world):
    req, _ = allocate(app, client, world)
    worker = client_for(app, world["worker"])
    for _ in range(2):
        attempt(worker, req, result="Contact not made message left", next_call_at=later(5))
    attempt(worker, req, result="Contact not made message left")
    fourth = attempt(worker, req, result="Contact not made message left", next_call_at=later(9))
    assert fourth.status_code == 422
    assert "A call back request allows 3 attempts and 3 have been made: no more attempts " \
        "can be recorded" in fourth.get_data(as_text=True)
    assert attempts_of(req) == 3


def test_stop_calling_needs_a_reason_then_the_downtime_letters_are_ready(app, client, world):
    req, _ = allocate(app, client, world, downtime="y", address="1 Mill Lane\nLeeds")
    worker = client_for(app, world["worker"])
    attempt(worker, req, result="Called contact not made", next_call_at=later(5))
    url = f"/callback-requests/{req.id}"
    assert worker.get(f"{url}/letters").status_code == 404  # not before calling has ended
    no_reason = worker.post(f"{url}/stop", data={"csrf_token": csrf_token(worker, url)})
    assert no_reason.status_code == 422
    assert "Enter the reason for stopping the calls" in no_reason.get_data(as_text=True)
    # someone else may not stop it
    refused = client.post(f"{url}/stop", data={"csrf_token": csrf_token(client, url),
                                               "reason": "not mine"})
    assert refused.status_code == 403
    resp = worker.post(f"{url}/stop", data={"csrf_token": csrf_token(worker, url),
                                            "reason": "Tried at all times of day for 3 weeks"})
    assert resp.status_code == 302
    page = worker.get(url).get_data(as_text=True)
    assert "Unsuccessful" in page and "Tried at all times of day for 3 weeks" in page
    assert "Issue clerical letters CMSL0077 and CMSL0080" in page
    assert f"{url}/letters" in page
    letters = worker.get(f"{url}/letters")
    html = letters.get_data(as_text=True)
    assert letters.status_code == 200
    assert 'id="CMSL0077"' in html and 'id="CMSL0080"' in html
    assert "Margaret Evans" in html and "1 Mill Lane" in html and "14 days" in html
    assert f"call-back request {req.id}" in html
    assert not db.session.scalars(select(CallBack).where(
        CallBack.request_id == req.id, CallBack.status == "Open")).all()


def test_an_ordinary_unsuccessful_request_has_no_letters(app, client, world):
    req, _ = allocate(app, client, world)
    worker = client_for(app, world["worker"])
    url = f"/callback-requests/{req.id}"
    worker.post(f"{url}/stop", data={"csrf_token": csrf_token(worker, url), "reason": "Moved"})
    assert worker.get(f"{url}/letters").status_code == 404
    assert "CMSL0077" not in worker.get(url).get_data(as_text=True)


def _admin(app):
    return client_for(app, make_user("admin", name="Ada Admin"))


def _change(admin, item_id, list_name, **data):
    data["csrf_token"] = csrf_token(admin, f"/admin/lists/{list_name}")
    return admin.post(f"/admin/lists/items/{item_id}", data=data)


def test_renaming_a_success_item_keeps_it_a_success(app, client, world):
    admin = _admin(app)
    signposted = item("call_result", "Signposted to other options")
    page = admin.get("/admin/lists/call_result").get_data(as_text=True)
    assert "Successful call" in page
    assert _change(admin, signposted.id, "call_result", action="rename",
                   name="Signposted to CM Options").status_code == 302
    req, _ = allocate(app, client, world)
    worker = client_for(app, world["worker"])
    needs_outcome = attempt(worker, req, result="Signposted to CM Options")
    assert "Choose the Call Back Outcome" in needs_outcome.get_data(as_text=True)
    done = attempt(worker, req, result="Signposted to CM Options", outcome="Signposted")
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(CallBackRequest, req.id).status == "Completed"


def test_the_flag_not_the_name_decides(app, client, world):
    admin = _admin(app)
    made = item("call_result", "Contact made")
    assert _change(admin, made.id, "call_result", action="unflag").status_code == 302
    req, _ = allocate(app, client, world)
    worker = client_for(app, world["worker"])
    # no longer a success: it needs the next call like any unsuccessful result
    resp = attempt(worker, req, result="Contact made", outcome="Done")
    assert "Set the date and time of the next call" in resp.get_data(as_text=True)
    # a complaint reason renamed stays a complaint; another reason flagged becomes one
    complaint = item("out_of_remit_reason", "Complaint about our response")
    _change(admin, complaint.id, "out_of_remit_reason", action="rename", name="Service feedback")
    wrong = item("out_of_remit_reason", "Wrong number")
    _change(admin, wrong.id, "out_of_remit_reason", action="flag")
    db.session.expire_all()
    assert Interaction(out_of_remit=True, out_of_remit_reason=item(
        "out_of_remit_reason", "Service feedback")).is_complaint
    assert Interaction(out_of_remit=True, out_of_remit_reason=item(
        "out_of_remit_reason", "Wrong number")).is_complaint
    assert not Interaction(out_of_remit=True, out_of_remit_reason=item(
        "out_of_remit_reason", "Other")).is_complaint


def test_flag_change_is_audited_and_only_on_lists_that_have_one(app, client, world):
    from helpline.audit.models import AuditEntry
    admin = _admin(app)
    made = item("call_result", "Contact made")
    _change(admin, made.id, "call_result", action="unflag")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "counts_as_success"))
    assert entry.before == "Yes" and entry.after == "No"
    food = item("signpost_category", "Food banks")
    assert _change(admin, food.id, "signpost_category", action="flag").status_code == 400


def test_closed_requests_of_another_team_are_not_listed_for_volunteers(app, client, world):
    req, _ = allocate(app, client, world)
    worker = client_for(app, world["worker"])
    url = f"/callback-requests/{req.id}"
    worker.post(f"{url}/stop", data={"csrf_token": csrf_token(worker, url), "reason": "Moved"})
    assert "Margaret Evans" in worker.get("/callback-requests/closed").get_data(as_text=True)
    outsider = client_for(app, world["outsider"])
    assert "Margaret Evans" not in outsider.get("/callback-requests/closed").get_data(
        as_text=True)
    assert outsider.get(url).status_code == 403
    assert "Margaret Evans" in client_for(app, world["leader"]).get(
        "/callback-requests/closed").get_data(as_text=True)


def test_the_same_attempt_form_sent_twice_counts_once(app, client, world):
    """A double click (or a resent form) on Record attempt must not use up one of the
    three attempts the procedure allows."""
    req, _ = allocate(app, client, world)
    worker = client_for(app, world["worker"])
    url = f"/callback-requests/{req.id}"
    page = worker.get(url).get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(worker, url), "form_token": token,
            "result": "Contact not made message left", "next_call_at": later(5)}
    first = worker.post(f"{url}/attempts", data=data)
    again = worker.post(f"{url}/attempts", data=data, follow_redirects=True)
    assert first.status_code == 302 and again.status_code == 200
    assert "This attempt was already recorded (the form was sent twice); it counts once." in \
        again.get_data(as_text=True)
    assert attempts_of(req) == 1
    assert db.session.scalar(select(func.count(CallBack.id)).where(
        CallBack.request_id == req.id, CallBack.status == "Open")) == 1
    # a fresh form (a new page) is a new attempt
    page = worker.get(url).get_data(as_text=True)
    fresh = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    assert fresh != token
    assert worker.post(f"{url}/attempts", data={**data, "form_token": fresh,
                                                "next_call_at": later(7)}).status_code == 302
    assert attempts_of(req) == 2
