"""Must show 6: New Case and New Interaction are once-only: the same form posted twice (a
double click, a resend after a timeout, two at the same moment) makes one record, one mail."""
import re

from sqlalchemy import func, select

from helpline.catcher import read_messages
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.mailer import OutboxMail
from tests.cases.helpers import case_form, item, seed_lists
from tests.conftest import at_the_same_moment, client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _form_token(client, path: str) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def _world(client, auth):
    seed_lists()
    me = make_user("supervisor", name="Elliot Hunter", email="elliot@example.org")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", email="angie@example.org")
    caller = make_contact(me)
    db.session.commit()
    auth.login(me.email)
    return me, angie, caller


def test_the_same_new_case_form_posted_twice_makes_one_case(app, client, auth, smtp):
    _me, _angie, caller = _world(client, auth)
    path = f"/cases/new/{caller.id}"
    data = {**case_form(note="Caller has no food"), "csrf_token": csrf_token(client, path),
            "form_token": _form_token(client, path)}
    first = client.post(path, data=data)
    mails_after_first = db.session.scalar(select(func.count(OutboxMail.id)))
    second = client.post(path, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Case.id))) == 1
    assert db.session.scalar(select(func.count(OutboxMail.id))) == mails_after_first
    shown = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "This case was already saved" in shown
    # A fresh form (a new token) makes a second case, as it should.
    again = {**data, "form_token": _form_token(client, path)}
    assert client.post(path, data=again).status_code == 302
    assert db.session.scalar(select(func.count(Case.id))) == 2


def _interaction_data(client, me, angie, caller, case, token):
    return {"enquirer_id": caller.id, "enquirer_country": "England",
            "interaction_date": "01/02/2021 09:15",
            "method_id": item("interaction_method", "Phone Call").id, "direction": "Inbound",
            "call_state_id": item("call_state", "Completed").id, "duration_mins": "25",
            "case_ref": case.reference, "notes": "Caller upset",
            "handlers": [me.id, angie.id], "form_token": token,
            "csrf_token": csrf_token(client, "/interactions/new")}


def test_the_same_new_interaction_posted_twice_makes_one_record_and_one_mail(app, client,
                                                                             auth, smtp):
    me, angie, caller = _world(client, auth)
    case = create_case(caller, "Food parcel needed", me)
    db.session.commit()
    data = _interaction_data(client, me, angie, caller, case,
                             _form_token(client, "/interactions/new"))
    first = client.post("/interactions/new", data=data)
    second = client.post("/interactions/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Interaction.id))) == 1
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]) == 1


def test_two_posts_at_the_same_moment_make_one_interaction_and_one_mail(app, client, auth,
                                                                        smtp):
    me, angie, caller = _world(client, auth)
    case = create_case(caller, "Food parcel needed", me)
    db.session.commit()
    token = _form_token(client, "/interactions/new")
    # Two tabs of the same signed-in browser sending the same form together.
    tabs = [client_for(app, me) for _ in range(2)]
    datas = [_interaction_data(tab, me, angie, caller, case, token) for tab in tabs]
    results = at_the_same_moment(lambda tab, data: tab.post("/interactions/new", data=data),
                                 list(zip(tabs, datas)))
    assert [r.status_code for r in results] == [302, 302]
    assert results[0].headers["Location"] == results[1].headers["Location"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Interaction.id))) == 1
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]) == 1
