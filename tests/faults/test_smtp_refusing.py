"""The mail server refusing connections.

What a user would notice: the email comes late, never twice, and is never lost. Each try
keeps the outbox row with the error; after MAX_ATTEMPTS it is on the administrator's
failed list; "Resend" once the mail server is back delivers it exactly once, however
often the job or the sweeper runs afterwards. (The retry path itself is tested in
tests/events/test_jobs_and_mail.py::test_smtp_refusing_keeps_the_mail_and_ends_in_the_failed_list.)
"""
from __future__ import annotations

from sqlalchemy import func, select

from helpline.extensions import db
from helpline.mailer import MAX_ATTEMPTS, OutboxMail, deliver_mail, queue_mail, sweep
from tests.conftest import csrf_token, free_port
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user
from tests.faults.helpers import mails


def _smtp_port(app, port: int) -> None:
    app.config["MAIL_PORT"] = port
    app.extensions["mail"].port = port


def test_refused_mail_is_kept_then_resent_once(app, client, auth, smtp):
    _smtp_port(app, free_port())  # nothing listens there: connection refused
    row = queue_mail("angie@example.org", "Refused then resent", "Body", key="refused-once")
    db.session.commit()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            deliver_mail(row.id)
        except ConnectionRefusedError:
            pass
        db.session.expire_all()
        row = db.session.get(OutboxMail, row.id)
        assert row.attempts == attempt and "ConnectionRefused" in row.last_error  # kept
    assert row.status == "failed"

    _smtp_port(app, smtp["port"])  # the mail server is back
    auth.login(make_user("admin").email)
    assert "Refused then resent" in client.get("/admin/jobs/failed").get_data(as_text=True)
    client.post(f"/admin/mail/outbox/{row.id}/resend",
                data={"csrf_token": csrf_token(client, "/admin/jobs/failed")})
    run_jobs(app)
    run_jobs(app)  # a redelivered job...
    assert sweep() == 0  # ...and the sweeper find nothing left to send
    deliver_mail(row.id)
    assert len(mails(smtp, subject="Refused then resent")) == 1
    assert db.session.scalar(select(func.count(OutboxMail.id))) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMail, row.id).status == "sent"
