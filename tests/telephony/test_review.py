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
from tests.telephony.helpers import pbx, ring, the_call


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("who", ["sam", "kim"])
def test_four_clicks_at_the_same_moment_make_one_call_back_or_request(app, client, line, who):
    ring(client, line["token"])
    pbx(client, line["token"], event="hangup", callId="c1", cause="noAnswer")
    call_id = the_call().id
    browsers = [client_for(app, line[who]) for _ in range(4)]
    tokens = [csrf_token(b, "/telephony/missed") for b in browsers]

    def click(browser, token):
        return browser.post(f"/telephony/missed/{call_id}/call-back",
                            data={"csrf_token": token}).status_code
    assert set(at_the_same_moment(click, list(zip(browsers, tokens)))) == {302}
    assert _count(CallBack) + _count(CallBackRequest) == 1
    made = the_call().called_back
    assert made is not None and made.startswith("call back" if who == "sam" else "call-back")


def _call_audit_text() -> str:
    from helpline.audit.models import AuditEntry
    db.session.expire_all()
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "call"))
    return " ".join(f"{r.field} {r.before} {r.after} {r.reason}" for r in rows).replace(" ", "")


def test_the_number_leaves_the_audit_trail_with_erasure_and_retention(client, line):
    from datetime import timedelta

    from helpline.audit import record
    from helpline.contacts.models import Contact
    from helpline.review import privacy, retention
    from helpline.timeutil import utcnow
    ring(client, line["token"], call_id="jane")
    ring(client, line["token"], call_id="old", number="07700 900444")
    # rows written before this fix held the number: they are scrubbed too
    for ref, shown in (("jane", "07700 900123"), ("old", "07700 900444")):
        record(None, "create", "call", the_call(ref).id, changes={"Number": (None, shown)})
    db.session.commit()
    assert "7700900123" in _call_audit_text() and "7700900444" in _call_audit_text()
    ring(client, line["token"], call_id="jane-2")
    assert _call_audit_text().count("7700900123") == 1  # new calls write no number
    privacy.anonymise(db.session.get(Contact, line["jane"].id), "Erasure request",
                      line["admin"])
    db.session.commit()
    assert "7700900123" not in _call_audit_text()
    old = the_call("old")
    old.started_at = utcnow() - timedelta(days=365 * 7)
    db.session.commit()
    retention.run(6)
    assert "7700900444" not in _call_audit_text()


def test_merging_duplicates_keeps_the_missed_call_listed_with_the_survivor(app, client, line):
    from helpline.contacts.models import Contact
    from helpline.contacts.services import merge_contacts
    from tests.contacts.helpers import make_contact
    dup = make_contact(line["sam"], first_name="Jane", last_name="Smith",
                       phone="07700900123")
    db.session.commit()
    ring(client, line["token"])
    pbx(client, line["token"], event="hangup", callId="c1", cause="noAnswer")
    assert sorted(c.id for c in the_call().contacts) == sorted([line["jane"].id, dup.id])
    merge_contacts(db.session.get(Contact, line["jane"].id), db.session.get(Contact, dup.id),
                   [], line["sam"])
    db.session.commit()
    call = the_call()
    assert call.erased_at is None and call.number_display == "07700 900123"
    assert [c.id for c in call.contacts] == [line["jane"].id]
    page = client_for(app, line["sam"]).get("/telephony/missed").get_data(as_text=True)
    assert "07700 900123" in page and "Jane Smith" in page


def test_erasing_jane_keeps_johns_link_and_the_call_when_they_share_a_number(client, line):
    from helpline.contacts.models import Contact
    from helpline.review import privacy
    from tests.contacts.helpers import make_contact
    john = make_contact(line["sam"], first_name="John", last_name="Smith",
                        phone="07700 900123")
    db.session.commit()
    ring(client, line["token"], call_id="both")
    ring(client, line["token"], call_id="nobody", number="07700 900123")
    # a call matched to nobody (e.g. before John was stored) with the shared number
    call = the_call("nobody")
    call.contacts = []
    db.session.commit()
    privacy.anonymise(db.session.get(Contact, line["jane"].id), "Erasure request",
                      line["admin"])
    db.session.commit()
    both = the_call("both")
    assert both.erased_at is None and both.number_display == "07700 900123"
    assert [c.id for c in both.contacts] == [john.id]
    assert the_call("nobody").erased_at is None  # John still has that number


def test_an_interaction_is_never_linked_to_someone_elses_call_by_the_hidden_field(
        app, client, line):
    from helpline.interactions.models import Interaction
    ring(client, line["token"], users=("201",))  # rings for Sam only
    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    kim = client_for(app, line["kim"])
    resp = kim.post("/interactions/new", data={
        "csrf_token": csrf_token(kim, "/interactions/new"), "enquirer_id": line["jane"].id,
        "interaction_date": "01/02/2021 09:15", "direction": "Inbound", "call_id": "c1",
        "notes": "Forged link", "handlers": [line["kim"].id]})
    assert resp.status_code == 302
    assert db.session.scalars(select(Interaction)).one().notes == "Forged link"
    assert the_call().interaction_id is None
    sam = client_for(app, line["sam"])
    sam.post("/interactions/new", data={
        "csrf_token": csrf_token(sam, "/interactions/new"), "enquirer_id": line["jane"].id,
        "interaction_date": "01/02/2021 09:20", "direction": "Inbound", "call_id": "c1",
        "notes": "The answerer's", "handlers": [line["sam"].id]})
    mine = db.session.scalars(select(Interaction).where(
        Interaction.notes == "The answerer's")).one()
    assert the_call().interaction_id == mine.id


def test_json_nested_too_deep_is_a_400_json_error(client, line):
    from tests.telephony.helpers import counts
    before = counts()
    body = '{"event": ' + "[" * 100000 + "]" * 100000 + "}"
    resp = client.post(f"/telephony/{line['token']}", data=body,
                       content_type="application/json")
    assert resp.status_code in (400, 413) and resp.get_json()["error"]
    small = '{"event": ' + "[" * 20000 + "]" * 20000 + "}"  # under 64 KB: the parser's limit
    resp = client.post(f"/telephony/{line['token']}", data=small,
                       content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["error"]
    assert counts() == before


def test_a_body_over_64_kb_is_a_413(client, line):
    from tests.telephony.helpers import counts
    before = counts()
    resp = pbx(client, line["token"], event="newCall", callId="big", notes="x" * 70000)
    assert resp.status_code == 413 and resp.get_json()["error"]
    assert counts() == before


@pytest.mark.parametrize("as_json", [False, True])
def test_over_long_numbers_and_control_characters_are_saved_cleanly(client, line, as_json):
    number = "+" + "9" * 39
    resp = pbx(client, line["token"], as_json=as_json, event="newCall", **{
        "from": number, "callId": "nul\x00call\x01", "user[]": ["201\x00"],
        "queue": "Main\x00", "direction": "in"})
    assert resp.status_code == 201 and resp.is_json
    call = the_call("nulcall")
    assert call.number == number and call.number_key is None and call.queue == "Main"
    assert [u.name for u in call.ringing] == ["Sam Handler"]
    assert pbx(client, line["token"], as_json=as_json, event="hangup",
               callId="nul\x00call", cause="cancel").status_code == 200
    assert the_call("nulcall").missed


def test_a_reused_call_id_with_another_number_is_a_409(client, line):
    assert ring(client, line["token"], call_id="r1").status_code == 201
    assert ring(client, line["token"], call_id="r1", number="07700900123").status_code == 200
    resp = ring(client, line["token"], call_id="r1", number="07700 900555")
    assert resp.status_code == 409 and resp.get_json()["error"]
    assert the_call("r1").number_display == "07700 900123"


def test_json_booleans_are_not_text(client, line):
    resp = pbx(client, line["token"], as_json=True, event="newCall", callId=True)
    assert resp.status_code == 400 and resp.get_json()["error"]
    assert _count(Call) == 0


def test_the_endpoint_token_never_reaches_the_request_log(client, line, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="helpline.request")
    ring(client, line["token"])
    pbx(client, line["token"] + "x", event="answer", callId="c1")  # a wrong one: 404
    logged = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    assert "endpoint=telephony.event" in logged or "telephony.event" in logged
    assert "/telephony/<token>" in logged
    assert line["token"] not in logged and line["token"][:20] not in logged


def test_the_retention_job_purges_call_notifications_older_than_a_day(client, line):
    from datetime import timedelta

    from helpline.notifications.models import Notification
    from helpline.notifications.services import notify
    from helpline.review import retention
    from helpline.timeutil import utcnow
    ring(client, line["token"], call_id="old")
    db.session.expire_all()
    for n in db.session.scalars(select(Notification).where(Notification.kind == "call")):
        n.created_at = utcnow() - timedelta(days=2)
    other = notify([line["sam"]], "Case assigned", "CA1", kind="info")
    for n in other:
        n.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    ring(client, line["token"], call_id="new")
    db.session.expire_all()
    assert len(db.session.scalars(select(Notification).where(
        Notification.kind == "call")).all()) == 4
    retention.run(6)
    db.session.expire_all()
    left = db.session.scalars(select(Notification)).all()
    assert sorted((n.kind, n.body) for n in left) == [
        ("call", "Incoming call"), ("call", "Incoming call"), ("info", "CA1")]


def test_a_queues_missed_call_is_shown_to_its_team_and_supervisors_only(app, client, line):
    from helpline.auth.models import Team
    from tests.factories import make_user
    team = Team(name="North")
    db.session.add(team)
    line["kim"].teams.append(team)
    lee = make_user("volunteer", name="Lee Outside", email="lee@example.org")
    boss = make_user("supervisor", name="Sue Super", email="sue@example.org")
    db.session.commit()
    pbx(client, line["token"], event="newCall", **{"from": "07700 900123", "callId": "q1",
                                                   "direction": "in", "queue": "north"})
    pbx(client, line["token"], event="hangup", callId="q1", cause="noAnswer")
    assert [u.name for u in the_call("q1").ringing] == ["Kim Other"]
    for user, shown in ((line["kim"], True), (boss, True), (lee, False), (line["sam"], False)):
        page = client_for(app, user).get("/telephony/missed").get_data(as_text=True)
        assert ("07700 900123" in page) is shown, user.name
        assert (f'id="missed-calls-count">{int(shown)}<' in page), user.name
    outsider = client_for(app, lee)
    resp = outsider.post(f"/telephony/missed/{the_call('q1').id}/call-back",
                         data={"csrf_token": csrf_token(outsider, "/telephony/missed")})
    assert resp.status_code == 404
    assert _count(CallBack) + _count(CallBackRequest) == 0 and the_call("q1").called_back is None


def test_an_extension_belongs_to_one_person(app, line):
    from helpline.auth.models import User
    admin = client_for(app, line["admin"])
    url = f"/admin/users/{line['kim'].id}/edit"
    resp = admin.post(url, data={"csrf_token": csrf_token(admin, url), "name": "Kim Other",
                                 "role": "volunteer", "language": "English (UK)",
                                 "phone_login": " 201 ", "default_team": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code != 302
    assert "201 is already Sam Handler" in page and 'id="phone_login-error"' in page
    db.session.expire_all()
    assert db.session.get(User, line["kim"].id).phone_login == "202"


def test_demo_calls_refuse_on_a_production_site(app, runner, line):
    from helpline.telephony import services
    app.config["PRODUCTION"] = True
    try:
        result = runner.invoke(args=["telephony", "demo-calls", "--count", "1", "--ring", "0",
                                     "--every", "0"])
    finally:
        app.config["PRODUCTION"] = False
    assert result.exit_code != 0 and "production" in result.output
    assert _count(Call) == 0 and services.token_matches(line["token"])
