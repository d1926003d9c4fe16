"""Issue 16, once-only forms everywhere: a new call back and a new call-back request sent
twice (a double click, a resend after a timeout, two tabs at the same moment) make one
record and send the team leaders one mail."""
import re

from sqlalchemy import func, select

from helpline.callbacks.models import CallBack
from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.callback_requests.models import CallBackRequest
from tests.callbacks.test_callbacks import post_cb
from tests.callbacks.test_callbacks import world as callback_world  # noqa: F401 - fixture
from tests.conftest import at_the_same_moment, client_for
from tests.events.test_jobs_and_mail import run_jobs
from tests.callback_requests.test_requests import new_request
from tests.callback_requests.test_requests import world as request_world  # noqa: F401 - fixture

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _token(client, path: str) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def test_the_same_new_call_back_form_sent_twice_makes_one_call_back(client, callback_world):
    case = callback_world["case"]
    token = _token(client, f"/callbacks/new/{case.id}")
    first = post_cb(client, case, form_token=token)
    second = post_cb(client, case, form_token=token)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(CallBack) == 1
    shown = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "This call back was already saved (the form was sent twice)" in shown
    # a new form is a new call back
    assert post_cb(client, case, form_token=_token(client, f"/callbacks/new/{case.id}"))\
        .status_code == 302
    assert _count(CallBack) == 2


def test_the_same_call_back_request_sent_twice_mails_the_leaders_once(app, client, smtp,
                                                                     request_world):
    token = _token(client, "/callback-requests/new")
    first = new_request(client, form_token=token)
    second = new_request(client, form_token=token)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(CallBackRequest) == 1
    assert "This call-back request was already saved" in client.get(
        second.headers["Location"]).get_data(as_text=True)
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"])
                if m["to"] == "leader@example.org"]) == 1


def test_two_tabs_sending_the_same_request_together_make_one(app, client, smtp, request_world):
    token = _token(client, "/callback-requests/new")
    tabs = [client_for(app, request_world["volunteer"]) for _ in range(2)]
    results = at_the_same_moment(lambda tab: new_request(tab, form_token=token),
                                 [(tab,) for tab in tabs])
    assert [r.status_code for r in results] == [302, 302]
    assert results[0].headers["Location"] == results[1].headers["Location"]
    assert _count(CallBackRequest) == 1
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"])
                if m["to"] == "leader@example.org"]) == 1
