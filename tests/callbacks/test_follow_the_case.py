"""Issue 14, point 3: when a case changes owner, the previous owner's open call backs (their
"Myself" ones and informal reminders too) move with it, reminder and all.

Issue 15 (HEAT, seed 003): assigning or acknowledging a case no longer changes its owner, so
it no longer moves call backs; a change of owner ("Change owner", the owner's or a
supervisor's) does, as before."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpline.callbacks import services
from helpline.callbacks.models import CallBack
from helpline.cases import service_desk as desk
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.notifications.models import Notification
from helpline.timeutil import utcnow
from tests.conftest import AuthActions, csrf_token, wait_until
from tests.contacts.helpers import make_contact
from tests.events.sse_client import Browserish, EventStream
from tests.factories import PASSWORD, make_user


def _cb(case, actor, description, start_in, owner="me", owner_user=None, informal=False):
    now = utcnow()
    start = now + start_in
    data = services.CallBackInput("07700 900123", description, now, None, True, start,
                                  max(start + timedelta(minutes=30), now + timedelta(hours=2)),
                                  informal, True, owner, owner_user)
    cb = services.create(case, data, actor)
    db.session.commit()
    return cb


@pytest.fixture
def handover(app):
    ann = make_user("volunteer", name="Ann Owner", team="Call Back Team")
    ben = make_user("volunteer", name="Ben Newowner", team="Call Back Team")
    cat = make_user("volunteer", name="Cat Named", team="Call Back Team")
    sue = make_user("supervisor", name="Sue Leader", team="Call Back Team")
    case = create_case(make_contact(ann), "Benefits question", ann)
    db.session.commit()
    mine = _cb(case, ann, "Myself: ring about benefits", timedelta(minutes=4))
    informal = _cb(case, ann, "Informal: update in three weeks", timedelta(weeks=3),
                   informal=True)
    named = _cb(case, ann, "For Cat by name", timedelta(hours=1), owner="user", owner_user=cat)
    return {"ann": ann, "ben": ben, "cat": cat, "sue": sue, "case": case, "mine": mine,
            "informal": informal, "named": named}


def _owner(cb_id):
    db.session.expire_all()
    return db.session.get(CallBack, cb_id).owner_id


def _reminders(user_id):
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.kind == "reminder"))


def test_a_myself_call_back_moves_with_the_case_and_its_reminder_follows(app, live_server,
                                                                          handover):
    h = handover
    assert services.fire_due() == 1  # Ann's "Myself" reminder is showing on her pages
    ann, ben = Browserish(live_server.url), Browserish(live_server.url)
    ann.login(h["ann"].email, PASSWORD)
    ben.login(h["ben"].email, PASSWORD)
    assert "Myself: ring about benefits" in ann.get("/")
    ann_events = EventStream(live_server.url, "/events", ann.cookie_header())
    ben_events = EventStream(live_server.url, "/events", ben.cookie_header())
    try:
        wait_until(lambda: app.extensions["broker"].subscriber_count() == 2)
        sue = app.test_client()
        AuthActions(sue).login(h["sue"].email)
        url = f"/cases/{h['case'].id}"
        resp = sue.post(f"{url}/owner", data={"csrf_token": csrf_token(sue, url),
                                              "owner": str(h["ben"].id)})
        assert resp.status_code == 302
        assert _owner(h["mine"].id) == h["ben"].id
        assert _owner(h["informal"].id) == h["ben"].id
        assert _owner(h["named"].id) == h["cat"].id  # given to Cat by name: stays
        told = ben_events.next_event("notification")
        assert f"Call back for you: {h['case'].reference}" in told["data"]
        # Ann's open page is told to re-read its pop-ups: hers is gone
        ann_events.next_event("reminder")
        assert "alertdialog" not in ann.get("/callbacks/reminders")
        assert "Myself: ring about benefits" not in ann.get("/")
        # the next poll pops the reminder up on Ben's open page
        assert services.fire_due() == 1
        ben_events.next_event("reminder")
        popup = ben.get("/callbacks/reminders")
        assert "alertdialog" in popup and "Myself: ring about benefits" in popup
        assert "Myself: ring about benefits" in ben.get("/")
        assert "Myself: ring about benefits" not in ann.get("/")
        assert (_reminders(h["ann"].id), _reminders(h["ben"].id)) == (1, 1)
        assert services.fire_due() == 0
    finally:
        ann_events.close()
        ben_events.close()


def test_reminder_state_moves_as_it_is(app, handover):
    h = handover
    services.fire_due()
    services.snooze(h["mine"], 30, h["ann"])
    db.session.commit()
    remind_at = h["mine"].remind_at
    with app.test_request_context():  # the notification links to the case
        desk.hand_over(h["case"], h["ben"], h["sue"])
    db.session.commit()
    db.session.expire_all()
    cb = db.session.get(CallBack, h["mine"].id)
    assert (cb.owner_id, cb.reminder_state, cb.remind_at, cb.snooze_total) == (
        h["ben"].id, "snoozed", remind_at, 30)
    informal = db.session.get(CallBack, h["informal"].id)
    assert informal.reminder_state == "armed" and informal.informal


def test_assigning_and_acknowledging_keep_them_with_the_owner(app, handover):
    """HEAT: the assignee works the case, the owner keeps it and its call backs."""
    h = handover
    team = h["ann"].default_team
    with app.test_request_context():
        desk.assign(h["case"], team, h["sue"], "http://helpline")  # the team queue
    db.session.commit()
    desk.acknowledge(h["case"], h["ben"])
    db.session.commit()
    assert (h["case"].owner_id, h["case"].assignee_id) == (h["ann"].id, h["ben"].id)
    assert _owner(h["mine"].id) == h["ann"].id and _owner(h["informal"].id) == h["ann"].id
    assert _owner(h["named"].id) == h["cat"].id
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == h["ann"].id, Notification.kind == "callback-moved")) is None
    with app.test_request_context():
        desk.hand_over(h["case"], h["ben"], h["sue"])  # a real change of owner moves them
    db.session.commit()
    assert _owner(h["mine"].id) == h["ben"].id and _owner(h["informal"].id) == h["ben"].id
    assert _owner(h["named"].id) == h["cat"].id
    note = db.session.scalar(select(Notification).where(
        Notification.user_id == h["ann"].id, Notification.kind == "callback-moved"))
    assert "moved to Ben Newowner with the case" in note.title


def test_a_myself_call_back_of_someone_else_stays_with_them(app, handover):
    h = handover
    cat_own = _cb(h["case"], h["cat"], "Cat's own", timedelta(hours=1))
    with app.test_request_context():  # the assignment email links to the case
        desk.assign(h["case"], h["ben"], h["sue"], "http://helpline")
    db.session.commit()
    assert _owner(cat_own.id) == h["cat"].id
