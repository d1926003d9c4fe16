"""Interactions: save, handler picker, pings (one mail each, even with Redis down), review."""
import re

import pytest
from sqlalchemy import func, select

from helpline.catcher import read_messages
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.mailer import OutboxMail, sweep
from helpline.notifications.models import Notification
from tests.cases.helpers import item, seed_lists
from tests.conftest import csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user


@pytest.fixture
def world(app, client, auth):
    seed_lists()
    me = make_user("supervisor", name="Elliot Hunter", email="elliot@example.org")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", email="angie@example.org")
    caller = make_contact(me)
    case = create_case(caller, "Food parcel needed", me)
    db.session.commit()
    auth.login(me.email)
    return {"me": me, "angie": angie, "caller": caller, "case": case}


def form_data(world, **overrides):
    data = {"enquirer_id": world["caller"].id, "enquirer_country": "England",
            "interaction_date": "01/02/2021 09:15", "method_id": item("interaction_method", "Phone Call").id,
            "direction": "Inbound", "call_state_id": item("call_state", "Completed").id,
            "duration_mins": "25", "case_ref": world["case"].reference, "notes": "Caller upset",
            "handlers": [world["me"].id]}
    data.update(overrides)
    return data


def post(client, data):
    data["csrf_token"] = csrf_token(client, "/interactions/new")
    return client.post("/interactions/new", data=data)


def test_new_interaction_defaults_and_save(client, world):
    page = client.get(f"/interactions/new?case_id={world['case'].id}").get_data(as_text=True)
    assert "Elliot Hunter" in page  # the current user is the default handler
    assert re.search(r"CA\d+ \(Robert Livingstone, \d\d/\d\d/\d{4}\)", page)
    assert "Ambulance called" in page and "Emergency Interventions" in page
    resp = post(client, form_data(world, interventions=[item("emergency_intervention",
                                                             "Police called").id]))
    assert resp.status_code == 302
    interaction = db.session.scalar(select(Interaction))
    assert interaction.reference == f"INT{39000 + interaction.id}"
    assert interaction.case_id == world["case"].id and interaction.duration_mins == 25
    assert [i.name for i in interaction.interventions] == ["Police called"]
    assert interaction.handler_users == [world["me"]]
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "01/02/2021 09:15" in shown and "Police called" in shown
    # contact and case pages list it
    assert interaction.reference in client.get(f"/contacts/{world['caller'].id}").get_data(as_text=True)
    assert interaction.reference in client.get(f"/cases/{world['case'].id}").get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("duration_mins", "-5", "Duration must be 0 minutes or more"),
    ("duration_mins", "2000", "24 hours (1440 minutes) or less"),
    ("interaction_date", "01/01/2099 10:00", "cannot be after today"),
    ("interaction_date", "yesterday", "Enter the Interaction Date"),
    ("case_ref", "CA99999", "There is no case CA99999"),
    ("handlers", ["987654"], "Unknown handler"),
])
def test_bad_input_is_refused_with_a_clear_message(client, world, field, value, message):
    resp = post(client, form_data(world, **{field: value}))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert 'value="Caller upset"' in resp.get_data(as_text=True) or "Caller upset" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Interaction.id))) == 0


def test_out_of_remit_needs_a_reason(client, world):
    resp = post(client, form_data(world, out_of_remit="y"))
    assert "Choose the Out of Remit Reason" in resp.get_data(as_text=True)


def test_assigning_a_handler_sends_one_mail_and_a_notification(app, client, world, smtp):
    angie = world["angie"]
    resp = post(client, form_data(world, handlers=[world["me"].id, angie.id]))
    interaction = db.session.scalar(select(Interaction))
    run_jobs(app)
    run_jobs(app)  # a second pass (a retry) sends nothing more
    mails = [m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]
    assert len(mails) == 1
    assert mails[0]["subject"] == f"You have been assigned to the Helpline Interaction {interaction.reference}"
    assert "by Elliot Hunter" in mails[0]["body"]
    assert f"/interactions/{interaction.id}" in mails[0]["body"]
    assert not [m for m in read_messages(smtp["dir"]) if m["to"] == "elliot@example.org"]
    note = db.session.scalar(select(Notification).where(Notification.user_id == angie.id))
    assert interaction.reference in note.title
    assert resp.status_code == 302


def test_reassigning_later_pings_the_new_handler(app, client, world, smtp):
    post(client, form_data(world))
    interaction = db.session.scalar(select(Interaction))
    url = f"/interactions/{interaction.id}"
    client.post(f"{url}/handlers", data={"csrf_token": csrf_token(client, url),
                                         "handlers": [world["angie"].id]})
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]) == 1
    client.post(f"{url}/handlers", data={"csrf_token": csrf_token(client, url),
                                         "handlers": [world["angie"].id]})
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]) == 1


def test_saving_with_redis_down_then_the_mail_goes_once(app, client, world, smtp, redis_server):
    from datetime import timedelta
    redis_server.stop()
    try:
        resp = post(client, form_data(world, handlers=[world["angie"].id]))
        assert resp.status_code == 302  # the save succeeds
    finally:
        redis_server.start()
    assert db.session.scalar(select(Interaction)) is not None
    row = db.session.scalar(select(OutboxMail))
    assert row.status == "pending"
    row.created_at -= timedelta(minutes=5)
    db.session.commit()
    assert sweep() == 1  # what the worker's sweeper does every 30 s
    run_jobs(app)
    assert sweep() == 0
    run_jobs(app)
    assert len([m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]) == 1


def test_handler_suggestions_and_search_more(client, world):
    for name in ("Allison Bates", "Andy Jackson", "Barry Smith"):
        make_user(name=name)
    html = client.get("/interactions/handlers/search?handler_q=ang",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Angie Greenaway-Samuel" in html and 'role="option"' in html
    assert "Barry" not in html
    assert "Allison" not in client.get("/interactions/handlers/search?handler_q=a").get_data(
        as_text=True)  # one letter is not enough
    by_login = client.get("/interactions/handlers/search?handler_q=elliot@").get_data(as_text=True)
    assert "Elliot Hunter" in by_login
    more = client.get("/interactions/handlers").get_data(as_text=True)
    for column in ("Name", "Login", "Frontline Operator?", "Helpline Team Access",
                   "Default Team", "Language", "Latest authentication"):
        assert f">{column}</th>" in more
    assert "Barry Smith" in more and "English (UK)" in more
    filtered = client.get("/interactions/handlers?q=barry").get_data(as_text=True)
    assert "Barry Smith" in filtered and "Andy Jackson" not in filtered


def test_case_reference_autocomplete(client, world):
    html = client.get("/interactions/cases?case_ref=Livingstone").get_data(as_text=True)
    assert world["case"].reference in html and "(Robert Livingstone," in html


def test_complaint_in_morning_review_until_marked_reviewed(app, client, auth, world):
    from helpline.timeutil import to_london, utcnow
    now = to_london(utcnow()).strftime("%d/%m/%Y %H:%M")
    resp = post(client, form_data(world, out_of_remit="y", interaction_date=now,
                                  out_of_remit_reason_id=item(
                                      "out_of_remit_reason", "Complaint about our response").id,
                                  handlers=[world["angie"].id]))
    assert resp.status_code == 302
    interaction = db.session.scalar(select(Interaction))
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Complaints (1)" in page and interaction.reference in page
    other_supervisor = make_user("supervisor")
    from tests.conftest import AuthActions
    other = app.test_client()
    AuthActions(other).login(other_supervisor.email)
    assert interaction.reference in other.get("/supervisor/").get_data(as_text=True)
    key = f"interaction:{interaction.id}:complaints"
    client.post(f"/supervisor/review/{key}", data={"csrf_token": csrf_token(client, "/supervisor/")})
    assert "Complaints (" not in other.get("/supervisor/").get_data(as_text=True)
    # volunteers cannot open the Morning Review
    auth.logout()
    auth.login(world["angie"].email)
    assert client.get("/supervisor/").status_code == 403


def test_a_busy_night_shows_only_flagged_calls_oldest_first_50_a_page(client, world):
    from datetime import timedelta
    from helpline.timeutil import utcnow
    now = utcnow()
    db.session.add_all([Interaction(enquirer_id=world["caller"].id, direction="Inbound",
                                    interaction_date=now, created_at=now - timedelta(seconds=n),
                                    call_back_required=n < 105, notes=f"call {n}")
                        for n in range(300)])
    db.session.commit()
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Call backs required (105)" in page
    assert "Showing 1–50 of 105, oldest first" in page
    assert "call 104" in page and "call 55" in page and "call 54" not in page
    assert "call 150" not in page  # ordinary calls are not listed
    second = client.get("/supervisor/?call=2").get_data(as_text=True)
    assert "Showing 51–100 of 105" in second
    assert "call 54" in second and "call 55" not in second


def _old_suggestions(q: str) -> list[str]:
    """suggest_handlers as it was before issue 17 (lower() on both columns, whole users)."""
    from sqlalchemy import func, or_, select

    from helpline.auth.models import User
    q = q.strip().lower().replace("%", "").replace("_", "").replace("\\", "")
    if len(q) < 2:
        return []
    name, login = func.lower(User.name), func.lower(User.email)
    rows = db.session.scalars(select(User).where(User.active.is_(True), or_(
        name.like(f"{q}%"), name.like(f"% {q}%"), name.like(f"%-{q}%"), name.like(f"({q}%"),
        login.like(f"{q}%"), login.like(f"%.{q}%@%"))).order_by(User.name).limit(200)).all()

    def rank(u) -> tuple:
        words = u.name.lower().replace("(", "").replace(")", "").split()
        return (0 if any(w.startswith(q) for w in words) else
                1 if u.email.lower().startswith(q) else 2, u.name.lower())
    return [u.email for u in sorted(rows, key=rank)[:8]]


def test_handler_suggestions_match_the_old_query_in_any_case(app, world):
    from helpline.interactions.services import suggest_handlers
    for i, name in enumerate(("ZOË ÉMILE", "Zoë Émile", "zoe emile", "(CA) Ann-Marie O'Neil",
                              "ANNE Marie", "Émilie Zola", "Åsa Örn", "Mary-Ann Zoeller")):
        make_user(name=name, email=f"{name.split()[-1].lower().replace(chr(39), '')}.{i}@ex.org")
    make_user(name="Zoe Retired", active=False)
    for q in ("zo", "ZO", "Zoë", "ZOË", "émi", "ÉMI", "em", "EM", "ann", "ANN", "-ma", "(ca",
              "o'n", "åsa", "ÅSA", "örn", "zola.", "ZOLA", "ex.org", "a%", "an_", "marie"):
        assert [u.email for u in suggest_handlers(q)] == _old_suggestions(q), q
