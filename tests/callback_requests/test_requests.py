"""Call-back requests: save + mails, allocation, attempts (max three), MP mail, link to a case."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpline.callbacks import services as cb_services
from helpline.callbacks.models import CallBack
from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.callback_requests.models import CallBackRequest
from helpline.timeutil import london_format, utcnow
from tests.cases.helpers import seed_lists
from tests.conftest import AuthActions, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user


@pytest.fixture
def world(app, client, auth):
    seed_lists()
    leader = make_user("supervisor", name="Team Leader", email="leader@example.org",
                       team="Call Back Team")
    worker = make_user("volunteer", name="Casey Worker", email="casey@example.org",
                       team="Call Back Team")
    volunteer = make_user("volunteer", name="Vol Unteer", team="Call Back Team")
    auth.login(volunteer.email)
    return {"leader": leader, "worker": worker, "volunteer": volunteer}


def later(hours=3):
    return london_format(utcnow() + timedelta(hours=hours))


def new_request(client, **overrides):
    data = {"full_name": "Margaret Evans", "address": "1 Mill Lane", "contact_number": "07700 900555",
            "required_at": later(), "nature": "New Application", "notes": "Wants to apply",
            "date_of_birth": ["3", "4", "1950"]}
    data.update(overrides)
    data["csrf_token"] = csrf_token(client, "/callback-requests/new")
    return client.post("/callback-requests/new", data=data)


def test_new_request_emails_the_team_leaders(app, client, world, smtp):
    resp = new_request(client)
    assert resp.status_code == 302
    req = db.session.scalar(select(CallBackRequest))
    assert req.status == "Awaiting Allocation"
    run_jobs(app)
    mails = [m for m in read_messages(smtp["dir"]) if m["to"] == "leader@example.org"]
    assert len(mails) == 1 and "Margaret Evans" in mails[0]["body"]
    assert f"/callback-requests/{req.id}" in mails[0]["body"]


@pytest.mark.parametrize("overrides,message", [
    ({"required_at": "01/01/2020 10:00"}, "in the past"),
    ({"required_at": ""}, "or tick Call Back Anytime"),
    ({"nature": "Existing Case"}, "Choose the reason for an Existing Case"),
    ({"contact_number": "123"}, "Enter a phone number"),
    ({"full_name": ""}, "Enter the caller&#39;s Full Name"),
])
def test_bad_input(client, world, overrides, message):
    resp = new_request(client, **overrides)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(CallBackRequest)) is None


def test_back_entry_keeps_the_paper_times(client, world):
    resp = new_request(client, required_at="01/01/2020 10:00", back_entry="y",
                       received_at="01/01/2020 09:00")
    assert resp.status_code == 302
    req = db.session.scalar(select(CallBackRequest))
    assert london_format(req.received_at) == "01/01/2020 09:00" and req.back_entry


def test_mp_request_emails_the_mp_enquiries_address(app, client, world, smtp):
    new_request(client, nature="Existing Case", existing_reason="MP", anytime="y", required_at="")
    run_jobs(app)
    mp = [m for m in read_messages(smtp["dir"]) if m["to"] == "mp-enquiries@example.org"]
    assert len(mp) == 1 and "Margaret Evans" in mp[0]["body"] and "MP" in mp[0]["subject"]


def _allocated(app, client, world):
    new_request(client)
    req = db.session.scalar(select(CallBackRequest))
    leader = app.test_client()
    AuthActions(leader).login(world["leader"].email)
    url = f"/callback-requests/{req.id}"
    assert "Margaret Evans" in leader.get("/callback-requests/").get_data(as_text=True)
    resp = leader.post(f"{url}/allocate", data={"csrf_token": csrf_token(leader, url),
                                                "caseworker": world["worker"].id})
    assert resp.status_code == 302
    return req, leader


def test_allocation_emails_the_caseworker(app, client, world, smtp):
    req, _ = _allocated(app, client, world)
    db.session.expire_all()
    assert db.session.get(CallBackRequest, req.id).status == "Awaiting Calls"
    run_jobs(app)
    assert [m for m in read_messages(smtp["dir"]) if m["to"] == "casey@example.org"]
    worker = app.test_client()
    AuthActions(worker).login(world["worker"].email)
    assert "Margaret Evans" in worker.get("/callback-requests/mine").get_data(as_text=True)
    # the required time is armed as a prompt 15 minutes before
    cb = db.session.scalar(select(CallBack).where(CallBack.request_id == req.id))
    assert cb.owner_id == world["worker"].id
    assert cb.remind_at == db.session.get(CallBackRequest, req.id).required_at - timedelta(minutes=15)


def test_allocation_to_an_inactive_user_is_refused(app, client, world):
    new_request(client)
    req = db.session.scalar(select(CallBackRequest))
    gone = make_user("volunteer", name="Gone Away", active=False)
    leader = app.test_client()
    AuthActions(leader).login(world["leader"].email)
    url = f"/callback-requests/{req.id}"
    resp = leader.post(f"{url}/allocate", data={"csrf_token": csrf_token(leader, url),
                                                "caseworker": gone.id})
    assert resp.status_code == 422 and "Choose an active caseworker" in resp.get_data(as_text=True)


def _attempt(client, req, **data):
    url = f"/callback-requests/{req.id}"
    data["csrf_token"] = csrf_token(client, url)
    return client.post(f"{url}/attempts", data=data)


def test_three_unsuccessful_attempts_close_it_and_a_fourth_is_refused(app, client, world):
    req, _ = _allocated(app, client, world)
    worker = app.test_client()
    AuthActions(worker).login(world["worker"].email)
    no_result = _attempt(worker, req, made_at=london_format(utcnow()))
    assert "Choose the Call Result" in no_result.get_data(as_text=True)
    no_next = _attempt(worker, req, result="Contact not made message left")
    assert "Set the date and time of the next call" in no_next.get_data(as_text=True)
    for _ in range(2):
        assert _attempt(worker, req, result="Contact not made message left",
                        next_call_at=later(5)).status_code == 302
    last = _attempt(worker, req, result="Contact not made no message left")
    assert last.status_code == 302
    db.session.expire_all()
    req = db.session.get(CallBackRequest, req.id)
    assert req.status == "Unsuccessful" and len(req.attempts) == 3
    page = worker.get(f"/callback-requests/{req.id}").get_data(as_text=True)
    assert "the caller must call the helpline again" in page
    fourth = _attempt(worker, req, result="Contact made", outcome="Done")
    assert fourth.status_code == 422 and "no more attempts" in fourth.get_data(as_text=True)
    assert len(db.session.get(CallBackRequest, req.id).attempts) == 3
    assert not db.session.scalars(select(CallBack).where(
        CallBack.request_id == req.id, CallBack.status.in_(["Open"]))).all()
    # the prompt for the call that never came ends as the request did, not as "Done"
    prompts = db.session.scalars(select(CallBack.status).where(
        CallBack.request_id == req.id).order_by(CallBack.id)).all()
    assert prompts[-1] == "Unsuccessful" and set(prompts[:-1]) == {"Not required"}


def test_success_needs_an_outcome_then_closes(app, client, world):
    req, _ = _allocated(app, client, world)
    worker = app.test_client()
    AuthActions(worker).login(world["worker"].email)
    resp = _attempt(worker, req, result="Application made")
    assert "Choose the Call Back Outcome" in resp.get_data(as_text=True)
    _attempt(worker, req, result="Application made", outcome="Application made")
    db.session.expire_all()
    assert db.session.get(CallBackRequest, req.id).status == "Completed"


def test_link_to_a_contact_and_turn_into_a_case(app, client, world):
    new_request(client)
    req = db.session.scalar(select(CallBackRequest))
    contact = make_contact(world["volunteer"], first_name="Margaret", last_name="Evans",
                           phone="07700 900555")
    url = f"/callback-requests/{req.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Margaret Evans" in page  # offered as the likely contact
    resp = client.post(f"{url}/link", data={"csrf_token": csrf_token(client, url),
                                            "contact_id": contact.id, "make_case": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    req = db.session.get(CallBackRequest, req.id)
    assert req.contact_id == contact.id and req.case is not None
    assert f"From call-back request {req.id}" in req.case.notes[0].text


def test_lists_show_counts_per_status(app, client, world):
    new_request(client)
    leader = app.test_client()
    AuthActions(leader).login(world["leader"].email)
    html = leader.get("/callback-requests/").get_data(as_text=True)
    assert "Awaiting Allocation: <strong>1</strong>" in html
    assert client.get("/callback-requests/").status_code == 403  # volunteers do not allocate


def test_a_new_contact_from_a_request_is_prefilled_and_linked(app, client, world):
    from helpline.contacts.models import Contact
    from tests.contacts.helpers import contact_form
    new_request(client)
    req = db.session.scalar(select(CallBackRequest))
    page = client.get(f"/callback-requests/{req.id}").get_data(as_text=True)
    assert f"/contacts/new?from_request={req.id}" in page
    form = client.get(f"/contacts/new?from_request={req.id}").get_data(as_text=True)
    for value in ('value="Margaret"', 'value="Evans"', 'value="07700 900555"', "1 Mill Lane",
                  'value="1950"', f'name="from_request" value="{req.id}"'):
        assert value in form
    data = contact_form(first_name="Margaret", last_name="Evans", phone="07700 900555",
                        from_request=str(req.id))
    data["csrf_token"] = csrf_token(client, f"/contacts/new?from_request={req.id}")
    resp = client.post("/contacts/new", data=data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/callback-requests/{req.id}")
    contact = db.session.scalar(select(Contact))
    db.session.expire_all()
    assert db.session.get(CallBackRequest, req.id).contact_id == contact.id
    assert client.get("/contacts/new?from_request=999999").status_code == 404


def test_the_request_page_offers_contacts_with_a_similar_name(app, client, world):
    """The request's Full Name is split into first and last name for the duplicate search:
    a contact with a similar surname (and another phone) is offered, an unrelated one not."""
    new_request(client, full_name="Margaret Ann Evans")
    req = db.session.scalar(select(CallBackRequest))
    make_contact(world["volunteer"], first_name="Margaret", last_name="Ann Evans",
                 phone="07700 900777")
    make_contact(world["volunteer"], first_name="Norman", last_name="Quigley",
                 phone="07700 900888")
    page = client.get(f"/callback-requests/{req.id}").get_data(as_text=True)
    assert "07700 900777" in page and "Quigley" not in page


def test_allocation_to_a_unicode_digit_is_a_message_not_a_500(app, client, world):
    """"²" passes str.isdigit() but not int(): a crafted caseworker is refused at the field."""
    new_request(client)
    req = db.session.scalar(select(CallBackRequest))
    leader = app.test_client()
    AuthActions(leader).login(world["leader"].email)
    url = f"/callback-requests/{req.id}"
    for bad in ("²", "9" * 30):
        resp = leader.post(f"{url}/allocate", data={"csrf_token": csrf_token(leader, url),
                                                    "caseworker": bad})
        assert resp.status_code == 422, bad
    db.session.expire_all()
    assert db.session.get(CallBackRequest, req.id).status != "Awaiting Calls"
