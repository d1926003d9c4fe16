"""More places that must say TRAINING, and what the training pages must not publish
(review findings L1–L4)."""
from __future__ import annotations

from sqlalchemy import select

from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.mailer import OutboxMail, queue_mail
from helpline.training.scenarios import PRACTICE_ACCOUNTS, PRACTICE_PASSWORD, VOLUNTEER
from tests.callback_requests.test_attempts_and_flags import allocate, attempt, later, world
from tests.conftest import AuthActions, client_for, csrf_token
from tests.events.test_jobs_and_mail import run_jobs
from tests.training.test_training_site import BANNER, _reset

__all__ = ["world"]  # the fixture, used by name
TRAINER = next(email for role, email, _n in PRACTICE_ACCOUNTS if role == "admin")


def test_each_clerical_letter_carries_the_training_banner(app, client, world, training_client):
    req, _ = allocate(app, client, world, downtime="y", address="1 Mill Lane\nLeeds")
    worker = client_for(app, world["worker"])
    attempt(worker, req, result="Called contact not made", next_call_at=later(5))
    url = f"/callback-requests/{req.id}"
    assert worker.post(f"{url}/stop", data={"csrf_token": csrf_token(worker, url),
                                            "reason": "No answer for 3 weeks"}).status_code == 302
    AuthActions(training_client).login(world["worker"].email)
    html = training_client.get(f"{url}/letters").get_data(as_text=True)
    letters = html.split('<section class="letter"')[1:]
    assert len(letters) == 2  # each prints on its own sheet
    assert all(BANNER in letter.split("</section>")[0] for letter in letters)
    assert BANNER not in worker.get(f"{url}/letters").get_data(as_text=True)


def test_training_mail_subjects_say_training(app, training_app, smtp):
    with training_app.app_context():
        queue_mail("someone@example.org", "Call back allocated", "A practice mail",
                   key="practice-subject")
        db.session.commit()
        run_jobs(training_app)
    db.session.expire_all()
    row = db.session.scalar(select(OutboxMail).where(OutboxMail.key == "practice-subject"))
    assert row.subject == "TRAINING – Call back allocated"
    assert [m["subject"] for m in read_messages(smtp["dir"])
            if m["to"] == "someone@example.org"] == ["TRAINING – Call back allocated"]
    queue_mail("someone@example.org", "Call back allocated", "A live mail", key="live-subject")
    db.session.commit()
    assert db.session.scalar(select(OutboxMail.subject).where(
        OutboxMail.key == "live-subject")) == "Call back allocated"


def test_the_training_pages_publish_no_administrator_account(app, training_app,
                                                               training_client):
    sign_in = training_client.get("/login").get_data(as_text=True)
    assert VOLUNTEER in sign_in and PRACTICE_PASSWORD in sign_in
    assert TRAINER not in sign_in and "(admin)" not in sign_in
    _reset(training_app)
    AuthActions(training_client).login(VOLUNTEER, PRACTICE_PASSWORD)
    scenarios = training_client.get("/training/scenarios").get_data(as_text=True)
    assert VOLUNTEER in scenarios and TRAINER not in scenarios


def test_the_busy_page_of_the_training_site_has_the_training_header(app, training_app):
    with training_app.test_request_context("/"):
        html = training_app.jinja_env.get_template("errors/busy.html").render(
            title="Busy", message="Try again", saving=False, fields=[], request_id="x",
            service_name="Helpline", action="/")
    assert 'class="hl-header hl-header--training"' in html and BANNER in html
    with app.test_request_context("/"):
        live = app.jinja_env.get_template("errors/busy.html").render(
            title="Busy", message="Try again", saving=False, fields=[], request_id="x",
            service_name="Helpline", action="/")
    assert 'class="hl-header"' in live and BANNER not in live
