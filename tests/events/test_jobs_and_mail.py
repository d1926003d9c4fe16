"""Mail goes through the outbox and an RQ job to a real SMTP server."""
from rq import SimpleWorker
from sqlalchemy import select

from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.jobs import get_queue
from helpline.mailer import MAX_ATTEMPTS, OutboxMail, deliver_mail, queue_mail, sweep
from tests.conftest import csrf_token, free_port
from tests.factories import make_user


def run_jobs(app) -> None:
    """Run every queued job in this process, like a worker in burst mode."""
    SimpleWorker([get_queue()], connection=app.extensions["redis"]).work(burst=True)


def test_a_job_sends_a_mail_that_the_catcher_receives(app, smtp):
    queue_mail("angie@example.org", "You have been assigned to the Helpline Interaction INT39100",
               "Dear Angie, You have been assigned to the Helpline Interaction INT39100.",
               key="assign-INT39100-angie")
    db.session.commit()
    assert len(get_queue()) == 1  # enqueued only after the commit
    run_jobs(app)
    msgs = read_messages(smtp["dir"])
    assert len(msgs) == 1
    assert msgs[0]["to"] == "angie@example.org"
    assert "INT39100" in msgs[0]["body"]
    assert msgs[0]["message_id"] == "<assign-INT39100-angie@helpline>"
    assert db.session.scalar(select(OutboxMail)).status == "sent"


def test_nothing_is_enqueued_when_the_transaction_rolls_back(app):
    queue_mail("a@example.org", "Subject", "Body", key="rolled-back")
    db.session.rollback()
    assert len(get_queue()) == 0
    assert db.session.scalar(select(OutboxMail)) is None


def test_the_same_key_is_sent_once(app, smtp):
    queue_mail("a@example.org", "Once", "Body", key="k1")
    db.session.commit()
    queue_mail("a@example.org", "Once", "Body", key="k1")
    db.session.commit()
    run_jobs(app)
    mail_id = db.session.scalar(select(OutboxMail.id))
    deliver_mail(mail_id)  # a redelivered job finds it already sent
    assert len([m for m in read_messages(smtp["dir"]) if m["subject"] == "Once"]) == 1


def test_smtp_refusing_keeps_the_mail_and_ends_in_the_failed_list(app, client, auth, smtp):
    app.config["MAIL_PORT"] = free_port()  # nothing listens: connection refused
    app.extensions["mail"].port = app.config["MAIL_PORT"]
    row = queue_mail("a@example.org", "Refused", "Body", key="refused")
    db.session.commit()
    for _ in range(MAX_ATTEMPTS):
        try:
            deliver_mail(row.id)
        except Exception:
            pass
    db.session.expire_all()
    row = db.session.get(OutboxMail, row.id)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert "ConnectionRefused" in row.last_error
    # The admin sees it and resends once SMTP is back.
    app.config["MAIL_PORT"] = smtp["port"]
    app.extensions["mail"].port = smtp["port"]
    auth.login(make_user("admin").email)
    page = client.get("/admin/jobs/failed").get_data(as_text=True)
    assert "Refused" in page and "ConnectionRefused" in page
    resp = client.post(f"/admin/mail/outbox/{row.id}/resend",
                       data={"csrf_token": csrf_token(client, "/admin/jobs/failed")},
                       follow_redirects=True)
    assert "queued again" in resp.get_data(as_text=True)
    get_queue().empty()
    deliver_mail(row.id)
    assert [m for m in read_messages(smtp["dir"]) if m["subject"] == "Refused"]
    sent = client.get("/admin/mail").get_data(as_text=True)
    assert "Refused" in sent


def test_sweeper_enqueues_mail_whose_job_was_lost(app, redis_server, smtp):
    from datetime import timedelta
    redis_server.stop()
    try:
        row = queue_mail("a@example.org", "Lost job", "Body", key="lost")
        db.session.commit()  # the save succeeds although Redis is down
    finally:
        redis_server.start()
    assert len(get_queue()) == 0
    row.created_at -= timedelta(minutes=5)
    db.session.commit()
    assert sweep() == 1
    run_jobs(app)
    assert [m for m in read_messages(smtp["dir"]) if m["subject"] == "Lost job"]


def test_admin_can_read_a_caught_message(app, client, auth, smtp):
    queue_mail("a@example.org", "Readable", "Line one\nLine two", key="readable")
    db.session.commit()
    run_jobs(app)
    auth.login(make_user("admin").email)
    page = client.get("/admin/mail").get_data(as_text=True)
    key = read_messages(smtp["dir"])[0]["key"]
    assert f"/admin/mail/{key}" in page
    shown = client.get(f"/admin/mail/{key}").get_data(as_text=True)
    assert "Line one\nLine two" in shown


def test_the_worker_waits_for_jobs_on_a_connection_that_does_not_time_out(app):
    """Walk finding (issue 18): the worker's long blocking wait could reuse one of the
    shared pool's connections (5-second socket timeout, made by the sweeper and reminder
    threads), time out while Redis was fine, and back off for up to a minute."""
    from helpline.worker import make_worker
    shared = app.extensions["redis"]
    shared.ping()  # a 5-second connection, now idle in the shared pool
    worker = make_worker(app)
    assert worker.connection.connection_pool is not shared.connection_pool
    # a blocking wait longer than the web's timeout comes back empty, not with an error
    assert worker.connection.blpop(["helpline:test:never-filled"], timeout=6) is None
