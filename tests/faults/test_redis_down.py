"""Redis killed while a volunteer is saving.

What a user would notice: nothing. Every save works (contact, case with its note and
signpost, an extra note, an interaction handed to a colleague); the colleague's page
shows the assignment; once Redis is back a worker sends the assignment email, exactly
once. (The mail's job could not be queued at commit: the outbox row waits and the
worker's sweeper queues it; the notification is a stored row the open page re-reads.)
"""
from __future__ import annotations

from sqlalchemy import func, select

from helpline.cases.models import Case, CaseNote
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.mailer import OutboxMail
from helpline.notifications.models import Notification
from tests.cases.helpers import case_form, item, seed_lists
from tests.conftest import csrf_token, wait_until
from tests.contacts.helpers import post_new
from tests.events.sse_client import Browserish, EventStream
from tests.factories import PASSWORD, make_user
from tests.faults.helpers import WorkerProcess, mails


def _post(client, url: str, data: dict, form_page: str | None = None):
    data["csrf_token"] = csrf_token(client, form_page or url)
    resp = client.post(url, data=data)
    assert resp.status_code in (302, 303), (url, resp.status_code)
    assert client.get(resp.headers["Location"]).status_code == 200  # the page after saving
    return resp


def _save_everything(client, angie) -> tuple[Contact, Case, Interaction]:
    resp = post_new(client)
    assert resp.status_code == 302
    contact = db.session.scalar(select(Contact))
    _post(client, f"/cases/new/{contact.id}", case_form(**{
        "signposts-0-category": item("signpost_category", "Food banks").id,
        "note": "Needs a food parcel for 4 people."}))
    case = db.session.scalar(select(Case))
    _post(client, f"/cases/{case.id}/notes", {"note": "Rang back, parcel arranged."},
          form_page=f"/cases/{case.id}")
    _post(client, "/interactions/new", {
        "enquirer_id": contact.id, "enquirer_country": "England",
        "interaction_date": "01/02/2021 09:15",
        "method_id": item("interaction_method", "Phone Call").id, "direction": "Inbound",
        "call_state_id": item("call_state", "Completed").id, "duration_mins": "25",
        "case_ref": case.reference, "notes": "Please ring the caller tomorrow",
        "handlers": [angie.id]})
    return contact, case, db.session.scalar(select(Interaction))


def test_saves_work_with_redis_down_and_mail_and_event_catch_up(
        app, client, auth, live_server, redis_server, smtp, tmp_path):
    seed_lists()
    volunteer = make_user("volunteer", name="Maggie Evans")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", email="angie@example.org")
    colleague = Browserish(live_server.url)  # Angie has the app open in her browser
    colleague.login(angie.email, PASSWORD)
    stream = EventStream(live_server.url, "/events", colleague.cookie_header())
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    auth.login(volunteer.email)

    redis_server.stop()
    try:
        contact, case, interaction = _save_everything(client, angie)
    finally:
        redis_server.start()

    # Every save is complete in the database.
    assert db.session.scalar(select(func.count(Contact.id))) == 1
    assert [s.category.name for s in case.signposts] == ["Food banks"]
    assert sorted(n.text for n in db.session.scalars(select(CaseNote))) == [
        "Needs a food parcel for 4 people.", "Rang back, parcel arranged."]
    assert interaction.case_id == case.id
    subject = f"You have been assigned to the Helpline Interaction {interaction.reference}"
    assert db.session.scalar(select(OutboxMail)).status == "pending"  # its job was lost

    # Angie's open page gets the assignment, and her notifications list shows it once.
    assert interaction.reference in stream.next_event("notification", timeout=10)["data"]
    stream.close()
    assert colleague.get("/notifications").count(subject) == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == angie.id)) == 1

    # A worker started now sends the mail, once.
    worker = WorkerProcess(app, tmp_path / "worker.log", MAIL_SWEEP_SECONDS=0.2,
                           MAIL_SWEEP_AFTER_SECONDS=0)
    try:
        wait_until(lambda: mails(smtp, to=angie.email), timeout=20,
                   message="the assignment mail never arrived")

        def sent():
            db.session.expire_all()
            return db.session.scalar(select(OutboxMail)).status == "sent"
        wait_until(sent, timeout=10, message="the outbox row was not marked sent")
    except AssertionError:
        print("worker log:\n", worker.log())
        raise
    finally:
        worker.stop()
    delivered = mails(smtp)
    assert [m["subject"] for m in delivered] == [subject]  # once, and nothing else
    assert f"/interactions/{interaction.id}" in delivered[0]["body"]
    assert db.session.scalar(select(OutboxMail)).attempts == 1
