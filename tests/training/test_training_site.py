"""Issue 20, part 2 (Must show 4): the training site shows its banner on every page, sends
no mail outside the local catcher, and `training-reset` restores the practice scenarios;
its exports are marked TRAINING, it runs no retention, its titles say TRAINING. The live
site has none of it."""
from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from helpline.callback_requests.models import CallBackRequest
from helpline.catcher import read_messages
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.jobs import set_job_app
from helpline.mailer import OutboxMail, queue_mail
from helpline.review.models import ExportBatch
from helpline.timeutil import utcnow
from helpline.training.scenarios import (PRACTICE_ACCOUNTS, PRACTICE_PASSWORD, SCENARIOS,
                                         SUPERVISOR, VOLUNTEER)
from helpline.worker import retention_daily
from tests.conftest import AuthActions, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user
from tests.review.test_retention import due_contacts

BANNER = "TRAINING — practice data only"
SKIP = {"static", "notifications.stream"}  # files, and the never-ending live-event stream


def _get_pages(client) -> dict[str, str]:
    """Every GET route with no required argument that answers with a whole HTML page
    (htmx fragments go into a page that has the banner already): {path: page}."""
    pages = {}
    for rule in client.application.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in SKIP:
            continue
        resp = client.get(rule.rule, follow_redirects=True)
        if resp.mimetype == "text/html" and "<html" in resp.get_data(as_text=True):
            pages[rule.rule] = resp.get_data(as_text=True)
    return pages


def _cli(flask_app, *args):
    """Run a command as `flask --app app ...` would, in that app (the test's own app
    context is the live one)."""
    with flask_app.app_context():
        return flask_app.test_cli_runner().invoke(args=list(args))


def _reset(training_app):
    result = _cli(training_app, "training-reset")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


def _contact(first, last):
    return db.session.scalar(select(Contact).where(Contact.first_name == first,
                                                   Contact.last_name == last))


def test_every_page_of_the_training_site_shows_the_banner_and_no_live_page_does(
        app, client, training_app, training_client):
    admin = make_user("admin")
    AuthActions(training_client).login(admin.email)
    AuthActions(client).login(admin.email)
    training = _get_pages(training_client)
    live = _get_pages(client)
    assert len(training) > 30 and "/training/scenarios" in training
    missing = [path for path, html in training.items() if BANNER not in html]
    assert missing == []
    assert all('class="hl-header hl-header--training"' in html for path, html in
               training.items() if 'class="hl-header' in html)
    shown = [path for path, html in live.items() if BANNER in html or "hl-training" in html]
    assert shown == []
    assert client.get("/training/scenarios").status_code == 404


def test_the_sign_in_page_of_each_says_which_site_it_is(client, training_client):
    live = client.get("/login").get_data(as_text=True)
    training = training_client.get("/login").get_data(as_text=True)
    assert "Live system" in live and BANNER not in live
    assert PRACTICE_PASSWORD not in live and "Training site" not in live
    assert "Training site — practice data only" in training and BANNER in training
    assert PRACTICE_PASSWORD in training and VOLUNTEER in training
    assert "Live system" not in training


def test_page_titles_are_prefixed_on_the_training_site_only(client, training_client):
    title = re.compile(r"<title>([^<]*)</title>")
    assert title.search(training_client.get("/login").get_data(as_text=True)).group(1) \
        .startswith("TRAINING – Sign in")
    assert title.search(client.get("/login").get_data(as_text=True)).group(1) \
        .startswith("Sign in")


def test_training_mail_goes_to_the_local_catcher_whatever_mail_server_says(
        app, training_app, smtp):
    assert training_app.config["MAIL_SERVER"] == "127.0.0.1"
    assert training_app.config["MAIL_PORT"] == smtp["port"]
    assert not training_app.config["MAIL_USE_TLS"] and not training_app.config["MAIL_USERNAME"]
    _reset(training_app)  # Grace's call-back request emails the team leader (supervisor)
    with training_app.app_context():
        queue_mail("someone@example.org", "Practice", "A practice mail", key="practice-1")
        db.session.commit()
        run_jobs(training_app)
    received = read_messages(smtp["dir"])
    assert {"someone@example.org", SUPERVISOR} <= {m["to"] for m in received}
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(select(OutboxMail))} == {"sent"}


def test_training_reset_restores_the_scenarios(app, training_app, training_client):
    out = _reset(training_app).output
    assert PRACTICE_PASSWORD in out
    dorothy, harold = _contact("Dorothy", "Kettering"), _contact("Harold", "Penrose")
    shopping = db.session.scalar(select(Case).where(Case.caller_id == harold.id))
    assert shopping.title == "Help with shopping"
    grace = db.session.scalar(select(CallBackRequest))
    assert (grace.full_name, grace.status) == ("Grace Adebayo", "Awaiting Allocation")
    assert _contact("Edith", "Marlowe") is None  # scenario 1: the trainee creates her

    # a session of practice: a rename, a changed case, an allocation, a new contact
    dorothy.first_name = "Dot"
    shopping.title = "Changed by a trainee"
    grace.status = "Completed"
    trainee = make_user("volunteer")
    make_contact(trainee, first_name="Edith", last_name="Marlowe", phone="07700 900101")
    db.session.commit()

    _reset(training_app)
    assert _contact("Dot", "Kettering") is None
    assert _contact("Dorothy", "Kettering") is not None
    harold = _contact("Harold", "Penrose")
    assert db.session.scalar(select(Case.title).where(Case.caller_id == harold.id)) == \
        "Help with shopping"
    assert db.session.scalar(select(CallBackRequest.status)) == "Awaiting Allocation"
    assert _contact("Edith", "Marlowe") is None
    # every practice account signs in with the password the sign-in page shows
    for _role, email, _name in PRACTICE_ACCOUNTS:
        resp = AuthActions(training_client).login(email, PRACTICE_PASSWORD)
        assert resp.status_code == 302 and "/login" not in resp.headers["Location"], email
        AuthActions(training_client).logout()


def test_training_reset_refuses_outside_training_mode(app):
    volunteer = make_user("volunteer")
    kept = make_contact(volunteer, first_name="Real", last_name="Caller")
    result = _cli(app, "training-reset")
    assert result.exit_code != 0
    assert "not the training site" in result.output and "HELPLINE_MODE=training" in result.output
    db.session.expire_all()
    assert db.session.get(Contact, kept.id).first_name == "Real"
    assert _contact("Dorothy", "Kettering") is None


def test_the_scenarios_page_lists_each_scenario_with_its_caller_and_steps(
        app, training_app, training_client, client):
    _reset(training_app)
    AuthActions(training_client).login(VOLUNTEER, PRACTICE_PASSWORD)
    home = training_client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/training/scenarios">Scenarios</a>' in home
    page = training_client.get("/training/scenarios").get_data(as_text=True)
    for s in SCENARIOS:
        assert f"Scenario {s.number}: {s.title}" in page
        assert s.caller.name in page
        assert s.steps[0].split("'")[0][:30] in page.replace("&#39;", "'")
    tomasz = _contact("Tomasz", "Wrona")
    grace = db.session.scalar(select(CallBackRequest))
    assert f'href="/contacts/{tomasz.id}"' in page
    assert f'href="/callback-requests/{grace.id}"' in page
    assert "Call backs must be completed within 24 hours" in page
    assert "Complaint about our response" in page
    make_user("admin", email="live-admin@example.org")
    AuthActions(client).login("live-admin@example.org")
    assert client.get("/training/scenarios").status_code == 404
    assert 'href="/training/scenarios"' not in client.get("/", follow_redirects=True) \
        .get_data(as_text=True)


def _export(test_client, fmt: str):
    data = {"fmt": fmt, "not_exported": "", "csrf_token": csrf_token(test_client,
                                                                      "/review/export")}
    assert test_client.post("/review/export", data=data).status_code == 302


def test_training_exports_are_marked_training(app, client, training_app, training_client):
    handler, data = make_user("volunteer"), make_user("data")
    case = create_case(make_contact(handler), "Food parcel needed", handler)
    case.review_state, case.reviewed_at = "Accepted", utcnow()
    db.session.commit()
    AuthActions(training_client).login(data.email)
    _export(training_client, "csv")
    _export(training_client, "xlsx")
    with training_app.app_context():
        run_jobs(training_app)
    db.session.expire_all()
    csv_batch, xlsx_batch = db.session.scalars(select(ExportBatch).order_by(ExportBatch.id))
    resp = training_client.get(f"/review/export/{csv_batch.id}/download")
    assert f"TRAINING-helpline-export-{csv_batch.id}.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0][0].startswith("TRAINING") and rows[1][0] == "Case reference"
    resp = training_client.get(f"/review/export/{xlsx_batch.id}/download")
    assert "TRAINING-helpline-export-" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    assert book.sheetnames == ["TRAINING Cases"]
    first = next(book.active.iter_rows(values_only=True))
    assert str(first[0]).startswith("TRAINING")

    # the live site's export of the same cases: no mark
    AuthActions(client).login(data.email)
    _export(client, "csv")
    set_job_app(app)  # the live site's own worker
    run_jobs(app)
    db.session.expire_all()
    live = db.session.scalars(select(ExportBatch).order_by(ExportBatch.id.desc())).first()
    resp = client.get(f"/review/export/{live.id}/download")
    assert "TRAINING" not in resp.headers["Content-Disposition"]
    assert resp.get_data().decode("utf-8-sig").startswith("Case reference")


def test_no_retention_runs_on_the_training_site(app, training_app):
    handler = make_user("volunteer")
    due = due_contacts(handler, 2)  # past the six-year retention
    stop = threading.Event()
    worker_thread = threading.Thread(target=retention_daily, args=(training_app, stop))
    worker_thread.start()
    worker_thread.join(10)  # the live worker's loop would still be running (and erasing)
    stopped = not worker_thread.is_alive()
    stop.set()
    assert stopped
    result = _cli(training_app, "retention")
    assert result.exit_code != 0 and "disabled on the training site" in result.output
    db.session.expire_all()
    assert [db.session.get(Contact, i).anonymised_at for i in due] == [None, None]
    # the same contacts on the live site: the manual run erases them
    assert _cli(app, "retention").exit_code == 0
    db.session.expire_all()
    assert all(db.session.get(Contact, i).anonymised_at for i in due)


def test_trainees_must_verify_the_practice_callers_and_a_reset_clears_sent_mail(
        app, training_app, training_client):
    """Walk findings (issue 20 review): the practice cases were owned by a trainee's own
    sign-in, who then opened them unverified and never practised verifying; and Admin →
    Sent mail still listed the mail of the practice before the reset."""
    _reset(training_app)
    harold = _contact("Harold", "Penrose")
    case = db.session.scalar(select(Case).where(Case.caller_id == harold.id))
    assert case.owner.email == "earlier.shift@practice.example.org" and not case.owner.active
    for _role, email, _name in PRACTICE_ACCOUNTS:
        if _role == "volunteer":
            AuthActions(training_client).login(email, PRACTICE_PASSWORD)
            assert training_client.get(f"/cases/{case.id}").status_code == 403, email
            page = training_client.get(f"/contacts/{harold.id}").get_data(as_text=True)
            assert "Verify the caller" in page and "Help with shopping" not in page
            AuthActions(training_client).logout()
    mail_dir = training_app.config["TRAINING_FILES_DIR"] + "/mail"
    training_app.config["MAIL_CATCHER_DIR"] = mail_dir
    Path(mail_dir).mkdir(parents=True, exist_ok=True)
    (Path(mail_dir) / "practice-mail.eml").write_text("Subject: TRAINING – old\n\nx")
    _reset(training_app)
    assert list(Path(mail_dir).iterdir()) == []
