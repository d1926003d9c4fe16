"""Call backs: the worked examples, validation, allocation, reminders once, snooze, escalation."""
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpline.callbacks import services
from helpline.callbacks.models import CallBack
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.notifications.models import Notification
from helpline.rules import RuleError
from helpline.timeutil import london_to_utc, utcnow
from tests.conftest import ROOT, AuthActions, csrf_token, wait_until
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def london(text: str) -> datetime:
    return london_to_utc(datetime.strptime(text, "%d/%m/%Y %H:%M"))


def test_worked_example_with_a_preferred_time():
    start, end = services.default_times(london("01/04/2014 09:30"), london("01/04/2014 14:00"))
    assert (start, end) == (london("01/04/2014 13:30"), london("02/04/2014 09:30"))


def test_worked_example_without_a_preferred_time():
    start, end = services.default_times(london("01/04/2014 09:30"), None)
    assert (start, end) == (london("02/04/2014 09:00"), london("02/04/2014 09:30"))


def test_clock_change_weeks_keep_london_wall_clock_times():
    # 29/03/2014 09:30 GMT → next day is BST; the SLA is 24 real hours
    start, end = services.default_times(london("29/03/2014 09:30"), None)
    assert end - london("29/03/2014 09:30") == timedelta(hours=24)


@pytest.fixture
def world(app, client, auth):
    owner = make_user("supervisor", name="Elliot Hunter", team="Call Back Team")
    caller = make_contact(owner)
    case = create_case(caller, "Benefits question", owner)
    db.session.commit()
    auth.login(owner.email)
    return {"owner": owner, "case": case}


def fmt(dt):
    from helpline.timeutil import london_format
    return london_format(dt)


def post_cb(client, case, **overrides):
    url = f"/callbacks/new/{case.id}"
    received = utcnow()
    data = {"contact_number": "07700 900123", "description": f"{case.reference} – ring back",
            "call_received": fmt(received), "preferred": "", "alarm": "y", "start": "",
            "end": "", "owner": "me", "csrf_token": csrf_token(client, url)}
    data.update(overrides)
    return client.post(url, data=data)


def test_defaults_fragment_shows_start_and_end(client, world):
    html = client.get("/callbacks/defaults?call_received=01/04/2014 09:30&preferred=01/04/2014 14:00",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'value="01/04/2014 13:30"' in html and 'value="02/04/2014 09:30"' in html
    html = client.get("/callbacks/defaults?call_received=01/04/2014 09:30").get_data(as_text=True)
    assert 'value="02/04/2014 09:00"' in html and 'value="02/04/2014 09:30"' in html


def test_create_with_defaults(client, world):
    resp = post_cb(client, world["case"])
    assert resp.status_code == 302
    cb = db.session.scalar(select(CallBack))
    assert cb.owner_id == world["owner"].id and cb.status == "Open"
    assert cb.end_at - cb.call_received_at == timedelta(hours=24)
    assert cb.remind_at == cb.start_at - timedelta(minutes=5)
    page = client.get("/callbacks/").get_data(as_text=True)
    assert world["case"].reference in page and "SLA time left" in page


@pytest.mark.parametrize("overrides,message", [
    ({"start": "02/04/2030 10:00", "end": "02/04/2030 09:00"}, "End must be after Start"),
    ({"call_received": "01/04/2014 09:30"}, "Start is in the past"),
    ({"contact_number": "12345"}, "Enter a phone number"),
    ({"description": ""}, "Enter the Description"),
    ({"preferred": "tomorrow"}, "Enter Preferred time as dd/mm/yyyy HH:MM"),
])
def test_bad_input(client, world, overrides, message):
    resp = post_cb(client, world["case"], **overrides)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CallBack.id))) == 0


def test_back_entry_allows_a_start_in_the_past(client, world):
    resp = post_cb(client, world["case"], call_received="01/04/2014 09:30", back_entry="y")
    assert resp.status_code == 302


def test_case_owner_option_allocates_to_the_case_owner_or_team(client, world):
    other = make_user("volunteer", name="Barry Smith")
    world["case"].owner_id = other.id
    db.session.commit()
    post_cb(client, world["case"], owner="case-owner")
    cb = db.session.scalar(select(CallBack))
    assert cb.owner_id == other.id and cb.status == "Open"
    other.active = False
    world["case"].owner_id = other.id
    db.session.commit()
    post_cb(client, world["case"], owner="case-owner")
    cb2 = db.session.scalars(select(CallBack).order_by(CallBack.id.desc())).first()
    assert cb2.owner_id is None and cb2.team_id == other.default_team_id


def test_an_owner_off_shift_when_it_is_due_leaves_it_in_the_team_queue(client, world):
    other = make_user("volunteer", name="Barry Smith", team="Night Team")
    other.default_team.shift_start, other.default_team.shift_end = "20:00", "08:00"
    world["case"].owner_id = other.id
    db.session.commit()
    # Preferred 14:00 London → Start 13:30, outside the 20:00–08:00 night shift
    day = (utcnow() + timedelta(days=2)).strftime("%d/%m/%Y")
    resp = post_cb(client, world["case"], owner="case-owner", call_received=f"{day} 09:00",
                   preferred=f"{day} 14:00")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cb = db.session.scalar(select(CallBack))
    assert cb.owner_id is None and cb.team_id == other.default_team_id and cb.status == "Open"
    # Preferred 23:00 → Start 22:30, on shift: it is Barry's
    post_cb(client, world["case"], owner="case-owner", call_received=f"{day} 09:00",
            preferred=f"{day} 23:00")
    cb2 = db.session.scalars(select(CallBack).order_by(CallBack.id.desc())).first()
    assert cb2.owner_id == other.id


def test_the_new_owner_is_told_and_their_call_back_count_is_pushed(app, client, world, live_server):
    import requests
    barry = make_user("volunteer", name="Barry Smith")
    db.session.commit()
    s = requests.Session()
    token = s.get(live_server.url + "/login").text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    s.post(live_server.url + "/login", data={"csrf_token": token, "email": barry.email,
                                             "password": "correct horse battery"})
    with s.get(live_server.url + "/events", stream=True, timeout=20) as stream:
        post_cb(client, world["case"], owner="user", owner_user=str(barry.id))
        cb = db.session.scalar(select(CallBack))
        assert cb.owner_id == barry.id
        seen = ""
        for line in stream.iter_lines(decode_unicode=True):
            seen += (line or "") + "\n"
            if 'id="callbacks-count"' in seen and ">1</span>" in seen:
                break
    assert "Call back for you: " + world["case"].reference in seen
    note = db.session.scalar(select(Notification).where(Notification.user_id == barry.id))
    assert note.kind == "callback" and note.url == f"/callbacks/{cb.id}"


def _due_callback(world, owner=None, minutes_ago=1):
    now = utcnow()
    data = services.CallBackInput("07700 900123", "Ring about benefits", now, None, True,
                                  now + timedelta(minutes=5 - minutes_ago), now + timedelta(hours=2),
                                  False, True, "me" if owner is None else "user", owner)
    cb = services.create(world["case"], data, world["owner"])
    db.session.commit()
    return cb


def test_reminder_fires_once_and_shows_on_the_next_page(client, world):
    cb = _due_callback(world)
    assert services.fire_due() == 1
    assert services.fire_due() == 0
    notes = db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    assert len(notes) == 1 and notes[0].user_id == world["owner"].id
    page = client.get("/").get_data(as_text=True)
    assert 'role="alertdialog"' in page and "Ring about benefits" in page


def test_snooze_steps_and_cap(client, world):
    cb = _due_callback(world)
    services.fire_due()
    url = "/callbacks/"
    for minutes in (60, 45):
        client.post(f"/callbacks/{cb.id}/snooze", data={"minutes": str(minutes),
                                                        "csrf_token": csrf_token(client, url)})
    db.session.expire_all()
    cb = db.session.get(CallBack, cb.id)
    assert cb.snooze_total == 105 and cb.reminder_state == "snoozed"
    with pytest.raises(RuleError, match="at most 120 minutes"):
        services.snooze(cb, 30, world["owner"])
    assert services.fire_due(utcnow() + timedelta(minutes=46)) == 1  # back after the snooze


def test_closing_needs_a_status_and_keeps_the_alarm_safe(client, world):
    cb = _due_callback(world)
    url = f"/callbacks/{cb.id}"
    resp = client.post(f"{url}/close", data={"csrf_token": csrf_token(client, url)},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    # walk finding: the message was a banner after a redirect, the radios unstyled
    assert resp.status_code == 422 and "<title>Error: " in page
    assert 'href="#status"' in page.split('class="govuk-error-summary"', 1)[1]
    assert 'id="status-error"' in page and "Choose how the call back ended" in page
    assert 'class="govuk-radios__input" id="status"' in page
    db.session.expire_all()
    assert db.session.get(CallBack, cb.id).is_open
    client.post(f"{url}/close", data={"csrf_token": csrf_token(client, url),
                                      "status": "Send for translation"})
    db.session.expire_all()
    assert db.session.get(CallBack, cb.id).status == "Send for translation"
    assert services.fire_due() == 0


def test_changing_end_re_arms_a_dismissed_reminder(client, world):
    cb = _due_callback(world)
    services.fire_due()
    services.dismiss(cb, world["owner"])
    db.session.commit()
    assert services.fire_due() == 0
    services.update_times(cb, cb.start_at, cb.end_at + timedelta(hours=1), cb.description,
                          world["owner"])
    db.session.commit()
    assert services.fire_due() == 1


def test_reassigning_the_case_moves_the_call_back_and_its_reminder(app, client, world):
    cb = _due_callback(world)
    cb.follows_case_owner = True
    db.session.commit()
    services.fire_due()
    newcomer = make_user("volunteer", name="Angie Greenaway-Samuel")
    url = f"/cases/{world['case'].id}"
    # issue 15: assigning keeps the owner (HEAT), so Change owner is what moves call backs
    client.post(f"{url}/owner", data={"csrf_token": csrf_token(client, url),
                                      "owner": str(newcomer.id)})
    db.session.expire_all()
    cb = db.session.get(CallBack, cb.id)
    assert cb.owner_id == newcomer.id
    assert services.fire_due() == 1
    latest = db.session.scalars(select(Notification).where(Notification.kind == "reminder")
                                .order_by(Notification.id.desc())).first()
    assert latest.user_id == newcomer.id
    assert "alertdialog" not in client.get("/").get_data(as_text=True)  # not the old owner
    other = app.test_client()
    AuthActions(other).login(newcomer.email)
    assert "alertdialog" in other.get("/").get_data(as_text=True)


def test_overdue_call_back_notifies_the_supervisor_once(app, world):
    volunteer = make_user("volunteer", name="Barry Smith", team="Call Back Team")
    cb = _due_callback(world, owner=volunteer)
    cb.end_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert services.escalate_overdue("http://helpline") == 1
    assert services.escalate_overdue("http://helpline") == 0
    note = db.session.scalar(select(Notification).where(Notification.kind == "escalation"))
    assert note.user_id == world["owner"].id and "Overdue call back" in note.title
    from helpline.mailer import OutboxMail
    assert db.session.scalar(select(OutboxMail)).to == world["owner"].email


def test_two_worker_processes_deliver_each_reminder_once(app, world):
    owner = world["owner"]
    now = utcnow()
    for i in range(20):
        data = services.CallBackInput("07700 900123", f"Reminder {i}", now, None, True,
                                      now + timedelta(minutes=4), now + timedelta(hours=2),
                                      False, True, "me")
        services.create(world["case"], data, owner)
    db.session.commit()
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=app.config["REDIS_URL"], MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(app.config["MAIL_PORT"]), REMINDER_POLL_SECONDS="0.2")
    workers = [subprocess.Popen([sys.executable, "-m", "helpline.worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    try:
        def delivered():
            db.session.expire_all()
            return db.session.scalar(select(func.count(Notification.id)).where(
                Notification.kind == "reminder")) == 20
        wait_until(delivered, timeout=60, message="not every reminder was delivered")
        import time
        deadline = time.monotonic() + 2  # give a duplicate the chance to appear
        while time.monotonic() < deadline:
            time.sleep(0.2)
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Notification.id)).where(
            Notification.kind == "reminder")) == 20
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(20)


def test_overdue_call_back_appears_in_the_morning_review(client, world):
    cb = _due_callback(world)
    cb.end_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    services.escalate_overdue("http://helpline")
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Overdue call backs (1)" in page
    assert "Overdue" in client.get("/callbacks/overdue").get_data(as_text=True)


def test_another_caseworker_given_as_a_unicode_digit_is_a_message_not_a_500(client, world):
    """"²" passes str.isdigit() but not int(): the owner choice is refused at its field."""
    for bad in ("²", "9" * 30):
        resp = post_cb(client, world["case"], owner="user", owner_user=bad)
        assert resp.status_code == 422, bad
        assert '<a href="#owner_user">' in resp.get_data(as_text=True)  # refused at the field
    assert db.session.scalar(select(CallBack)) is None
