"""The PBX endpoint (Zammad generic CTI): a wrong token records nothing, a newCall for a
stored caller's number in another format finds them, answer and hangup move the call on,
and bad input is refused with a 4xx, never a 500, and never pops twice."""
import pytest
from sqlalchemy import select

from helpline.extensions import db
from helpline.notifications.models import Notification
from helpline.telephony.models import Call
from tests.conftest import client_for
from tests.telephony.helpers import counts, pbx, ring

HX = {"HX-Request": "true"}



def _calls():
    db.session.expire_all()
    return list(db.session.scalars(select(Call).order_by(Call.id)))


def test_wrong_token_is_404_and_records_nothing(client, line):
    before = counts()
    for token in ("wrong", line["token"][:-1], line["token"] + "x"):
        resp = ring(client, token)
        assert resp.status_code == 404
    assert counts() == before


def test_a_new_call_in_another_format_finds_the_stored_caller(app, client, line):
    resp = ring(client, line["token"], number="447700900123")  # the PBX's format
    assert resp.status_code == 201
    call = _calls()[0]
    assert [c.id for c in call.contacts] == [line["jane"].id]
    assert call.number_display == "07700 900123"
    assert {u.id for u in call.ringing} == {line["sam"].id, line["kim"].id}
    panel = client_for(app, line["sam"]).get("/telephony/panel", headers=HX)
    html = panel.get_data(as_text=True)
    assert "Incoming call from 07700 900123" in html
    assert "Jane Smith</span> (1 open case)" in html
    assert f"/contacts/{line['jane'].id}" in html and "New interaction" in html
    # nothing personal in the stored notifications: the panel reads the call log
    titles = {(n.title, n.body) for n in db.session.scalars(select(Notification))}
    assert titles == {("Phone call", "Incoming call")}


@pytest.mark.parametrize("number", ["07700 900123", "+447700900123", "0044 7700 900123",
                                    "(07700) 900-123"])
def test_any_format_of_the_number_matches(client, line, number):
    assert ring(client, line["token"], number=number).status_code == 201
    assert [c.id for c in _calls()[0].contacts] == [line["jane"].id]


def test_json_events_work_too(client, line):
    resp = pbx(client, line["token"], as_json=True, event="newCall", **{
        "from": "07700900123", "to": "01632960000", "direction": "in", "callId": "j1",
        "user[]": ["Sam Handler"]})
    assert resp.status_code == 201
    assert [u.name for u in _calls()[0].ringing] == ["Sam Handler"]


def test_withheld_numbers_say_so(app, client, line):
    assert ring(client, line["token"], number="anonymous").status_code == 201
    call = _calls()[0]
    assert call.withheld and call.number is None and call.contacts == []
    html = client_for(app, line["kim"]).get("/telephony/panel", headers=HX).get_data(as_text=True)
    assert "Incoming call from Withheld number" in html
    assert "New contact with this number" not in html


def test_a_duplicate_new_call_never_pops_twice(client, line):
    assert ring(client, line["token"]).status_code == 201
    before = counts()
    for _ in range(3):
        resp = ring(client, line["token"])
        assert resp.status_code == 200 and "duplicate" in resp.get_json()["message"]
    assert counts() == before


def test_answer_closes_the_panel_for_the_others_and_keeps_it_for_the_answerer(app, client, line):
    ring(client, line["token"])
    sam, kim = client_for(app, line["sam"]), client_for(app, line["kim"])
    assert "Incoming call" in kim.get("/telephony/panel", headers=HX).get_data(as_text=True)
    resp = pbx(client, line["token"], event="answer", callId="c1", direction="in",
               answeringNumber="201", **{"from": "07700900123", "to": "01632960000"})
    assert resp.status_code == 200
    assert "07700" not in kim.get("/telephony/panel", headers=HX).get_data(as_text=True)
    html = sam.get("/telephony/panel", headers=HX).get_data(as_text=True)
    assert "On the phone with 07700 900123" in html
    # a repeated answer changes nothing
    before = counts()
    assert pbx(client, line["token"], event="answer", callId="c1",
               answeringNumber="202").status_code == 200
    assert counts() == before and _calls()[0].answered_by_id == line["sam"].id


@pytest.mark.parametrize("fields, status", [
    ({}, 400),
    ({"event": "ring", "callId": "x"}, 400),
    ({"event": "newCall"}, 400),
    ({"event": "newCall", "callId": "x" * 251}, 400),
    ({"event": "newCall", "callId": "x", "direction": "sideways"}, 400),
    ({"event": "newCall", "callId": "x", "from": "1" * 41}, 400),
    ({"event": "answer", "callId": "never-seen"}, 404),
    ({"event": "hangup", "callId": "never-seen", "cause": "normalClearing"}, 404),
])
def test_bad_events_are_refused_with_a_4xx_and_record_nothing(client, line, fields, status):
    before = counts()
    resp = pbx(client, line["token"], **fields)
    assert resp.status_code == status
    assert resp.get_json()["error"]
    assert counts() == before


@pytest.mark.parametrize("body", ['[1, 2]', '"newCall"', '{"event": {"x": 1}, "callId": "a"}',
                                  '{"event": "newCall", "callId": "a", "user[]": [1]}', '{bad'])
def test_malformed_json_is_a_400(client, line, body):
    before = counts()
    resp = client.post(f"/telephony/{line['token']}", data=body,
                       content_type="application/json")
    assert resp.status_code == 400
    assert counts() == before


@pytest.mark.parametrize("number", ["", "+", "abc", "0", "999", "+999999999999999",
                                    "07700 900123 ext 4", "٣٣٣"])
def test_odd_numbers_are_recorded_without_a_500(client, line, number):
    resp = ring(client, line["token"], call_id=f"odd-{number}", number=number)
    assert resp.status_code == 201


def test_allowed_addresses_refuse_others(client, line):
    from helpline.telephony import services
    services.set_allowed_addresses("192.0.2.0/24", line["admin"])
    db.session.commit()
    before = counts()
    assert ring(client, line["token"]).status_code == 404
    assert counts() == before
    services.set_allowed_addresses("127.0.0.1", line["admin"])
    db.session.commit()
    assert ring(client, line["token"]).status_code == 201


def test_a_burst_of_the_same_events_at_the_same_moment_is_applied_once(app, line):
    from tests.conftest import at_the_same_moment

    def send(fields):
        return pbx(app.test_client(), line["token"], **fields).status_code
    new = {"event": "newCall", "from": "07700900123", "callId": "burst", "user[]": ["201"]}
    statuses = at_the_same_moment(send, [(new,)] * 6)
    assert sorted(statuses) == [200] * 5 + [201]
    hang = {"event": "hangup", "callId": "burst", "cause": "cancel"}
    assert set(at_the_same_moment(send, [(hang,)] * 6)) == {200}
    calls = _calls()
    assert len(calls) == 1 and calls[0].missed
    db.session.expire_all()
    pings = db.session.scalars(select(Notification).where(
        Notification.user_id == line["sam"].id)).all()
    assert [n.body for n in pings] == ["Incoming call", "Ended"]
