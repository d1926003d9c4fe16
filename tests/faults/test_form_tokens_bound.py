"""Review finding (issue 16): a form token is bound to the kind of form and to the user. A
token reused on another kind of form, or posted by another user, saves that record
normally; it never reports a record as saved that was not."""
import re

from sqlalchemy import func, select

from helpline.callbacks.models import CallBack
from helpline.extensions import db
from helpline.callback_requests.models import CallBackRequest
from tests.callbacks.test_callbacks import post_cb
from tests.callbacks.test_callbacks import world as callback_world  # noqa: F401 - fixture
from tests.conftest import client_for
from tests.factories import make_user
from tests.callback_requests.test_requests import new_request

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def test_a_call_back_token_reused_on_a_request_form_saves_the_request(app, client,
                                                                     callback_world):
    case = callback_world["case"]
    token = TOKEN.search(client.get(f"/callbacks/new/{case.id}").get_data(
        as_text=True)).group(1)
    assert post_cb(client, case, form_token=token).status_code == 302
    make_user("supervisor", team="Call Back Team")  # a team leader to email
    resp = new_request(client, form_token=token)
    assert resp.status_code == 302
    assert client.get(resp.headers["Location"]).status_code == 200
    assert _count(CallBack) == 1 and _count(CallBackRequest) == 1


def test_another_users_token_does_not_send_them_to_the_first_users_record(app, client,
                                                                         callback_world):
    case = callback_world["case"]
    token = TOKEN.search(client.get(f"/callbacks/new/{case.id}").get_data(
        as_text=True)).group(1)
    assert post_cb(client, case, form_token=token).status_code == 302
    other = client_for(app, make_user("supervisor", name="Other Supervisor"))
    assert post_cb(other, case, form_token=token).status_code == 302
    assert _count(CallBack) == 2  # the second user's call back was saved, not swallowed
