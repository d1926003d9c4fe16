"""Review findings on the screen-pop: who may own a call back from a missed call, clicks at
the same moment, the number in the audit trail, erasure and merges, forged links, bad input,
logs, notification growth and teams."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpline.callback_requests.models import CallBackRequest
from helpline.callbacks.models import CallBack
from helpline.extensions import db
from helpline.telephony.models import Call
from tests.conftest import at_the_same_moment, client_for, csrf_token
from tests.telephony.helpers import pbx, ring, setup_line


@pytest.fixture
def line(app):
    return setup_line()


def _call(ref: str = "c1") -> Call:
    db.session.expire_all()
    return db.session.scalars(select(Call).where(Call.call_ref == ref)).one()


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("who", ["sam", "kim"])
def test_four_clicks_at_the_same_moment_make_one_call_back_or_request(app, client, line, who):
    ring(client, line["token"])
    pbx(client, line["token"], event="hangup", callId="c1", cause="noAnswer")
    call_id = _call().id
    browsers = [client_for(app, line[who]) for _ in range(4)]
    tokens = [csrf_token(b, "/telephony/missed") for b in browsers]

    def click(browser, token):
        return browser.post(f"/telephony/missed/{call_id}/call-back",
                            data={"csrf_token": token}).status_code
    assert set(at_the_same_moment(click, list(zip(browsers, tokens)))) == {302}
    assert _count(CallBack) + _count(CallBackRequest) == 1
    made = _call().called_back
    assert made is not None and made.startswith("call back" if who == "sam" else "call-back")
