"""Outgoing mail through an outbox: written with the change, delivered by a job.

Writing the mail row in the same transaction as the change it reports avoids the
dual write (commit succeeded, enqueue lost). Delivery claims the row first, so two
workers never send the same message; a claim left by a killed worker goes stale and
the sweeper re-enqueues it (at-least-once; the Message-ID is the idempotency key).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_mail import Message
from sqlalchemy import DateTime, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import Model, db, mail, rowcount
from .jobs import enqueue, enqueue_after_commit, task
from .timeutil import utcnow

MAX_ATTEMPTS = 5
# Defaults; MAIL_STALE_CLAIM_SECONDS and MAIL_SWEEP_AFTER_SECONDS override them. A claim
# goes stale only well after the job timeout (120 s), so a slow but live send is never
# taken over; a worker killed mid-send is recovered after this long.
STALE_CLAIM = timedelta(minutes=5)
SWEEP_AFTER = timedelta(minutes=2)


def _seconds(name: str, default: timedelta) -> timedelta:
    value = current_app.config.get(name)
    return default if value is None else timedelta(seconds=float(value))


class OutboxMail(Model):
    """One email to send; status pending → sending → sent, or failed."""

    __tablename__ = "outbox_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


TRAINING_SUBJECT = "TRAINING – "


def queue_mail(to: str, subject: str, body: str, key: str) -> OutboxMail:
    """Add a mail to the outbox (same transaction as the caller); sent after commit.

    key makes it idempotent: queueing the same key twice keeps the first mail.
    """
    existing = db.session.scalar(select(OutboxMail).where(OutboxMail.key == key))
    if existing is not None:
        return existing
    if current_app.config.get("TRAINING") and not subject.startswith(TRAINING_SUBJECT):
        subject = (TRAINING_SUBJECT + subject)[:300]  # never taken for a live mail
    row = OutboxMail(key=key, to=to, subject=subject, body=body)
    db.session.add(row)
    db.session.flush()
    enqueue_after_commit(deliver_mail, row.id, job_id=f"mail-{row.id}")
    return row


def _claim(mail_id: int) -> bool:
    now, stale = utcnow(), _seconds("MAIL_STALE_CLAIM_SECONDS", STALE_CLAIM)
    result = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id,
               or_(OutboxMail.status == "pending",
                   (OutboxMail.status == "sending") & (OutboxMail.claimed_at < now - stale)))
        .values(status="sending", claimed_at=now, attempts=OutboxMail.attempts + 1))
    db.session.commit()
    return (rowcount(result) or 0) == 1


@task
def deliver_mail(mail_id: int) -> str:
    """Send one outbox mail over SMTP; idempotent, retried with backoff by RQ."""
    if not _claim(mail_id):
        return "already handled"
    row = db.session.get(OutboxMail, mail_id)
    assert row is not None  # _claim has just updated this row
    msg = Message(row.subject, recipients=[row.to], body=row.body,
                  sender=current_app.config["MAIL_DEFAULT_SENDER"])
    msg.msgId = f"<{row.key}@helpline>"
    try:
        mail.send(msg)
    except Exception as exc:
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
        db.session.commit()
        if row.status == "failed":
            return "failed"
        raise  # RQ retries with backoff
    row.status, row.sent_at, row.last_error = "sent", utcnow(), None
    db.session.commit()
    return "sent"


def resend(row: OutboxMail) -> None:
    """Put a failed mail back in the outbox (admin action)."""
    row.status, row.attempts, row.claimed_at = "pending", 0, None
    enqueue_after_commit(deliver_mail, row.id, job_id=f"mail-{row.id}")


def sweep() -> int:
    """Enqueue mails whose job was lost (Redis down at commit, worker killed)."""
    now = utcnow()
    after = _seconds("MAIL_SWEEP_AFTER_SECONDS", SWEEP_AFTER)
    stale = _seconds("MAIL_STALE_CLAIM_SECONDS", STALE_CLAIM)
    ids = list(db.session.scalars(select(OutboxMail.id).where(or_(
        (OutboxMail.status == "pending") & (OutboxMail.created_at < now - after)
        & or_(OutboxMail.claimed_at.is_(None), OutboxMail.claimed_at < now - after),
        (OutboxMail.status == "sending") & (OutboxMail.claimed_at < now - stale)))))
    for mail_id in ids:
        enqueue(deliver_mail, mail_id, job_id=f"mail-{mail_id}")
    return len(ids)
