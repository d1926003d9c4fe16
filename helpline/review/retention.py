"""Retention: erase contacts and unlinked call-back requests with no activity for
RETENTION_YEARS, in short batches, once a day across every worker.

Rows are chosen by keys and dates, never by text. Each contact is erased with
`privacy.anonymise` and each call-back request with `privacy.erase_callback_request`,
and committed at once: a record's reads and plan run before its writes take SQLite's
write lock, and the commit frees it before the next record's reads, so the lock is held
only for one record's UPDATEs. A batch ends after a few hundred records or a tenth of a
second of work, whichever comes first; on SQLite the run then pauses, so a save from the
web that is waiting for the lock always gets it within about one batch.

The same run deletes unsaved case drafts (cases.drafts) older than a week, by date.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import redis
from sqlalchemy import exists, or_, select

from ..callback_requests.models import CallAttempt, CallBackRequest
from ..cases import drafts as case_drafts
from ..cases.models import Case
from ..contacts.models import Contact
from ..extensions import db
from ..interactions.models import Interaction
from ..telephony import services as telephony
from ..timeutil import utcnow
from . import privacy

log = logging.getLogger(__name__)
BATCH_SIZE = 200
BATCH_SECONDS = 0.1  # pause at least this often, however slow one erasure is
# SQLite: a writer waiting on busy_timeout sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25 ms, then
# 50 ms, between tries, and the lock is not handed over fairly. A save that began with a
# batch has tried every 25 ms at most by the time the batch ends, so a pause of twice that
# lets it in (at about 130 ms) before the next batch starts.
SQLITE_PAUSE_SECONDS = 0.05
LOCK_KEY = "helpline:retention:day:{day}"
LOCK_SECONDS = 36 * 3600  # longer than a day: the key itself says "today's run happened"


@dataclass
class Report:
    """What a retention run did (or, dry, would do)."""

    years: int
    cutoff: datetime
    contacts: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    batches: int = 0
    dry_run: bool = False
    drafts: int = 0  # unsaved case drafts older than cases.drafts.KEPT_FOR, deleted

    def describe(self) -> str:
        verb = "Would erase" if self.dry_run else "Erased"
        return (f"{verb} {len(self.contacts)} contact(s) and {len(self.requests)} unlinked "
                f"call-back request(s) with no activity since {self.cutoff:%Y-%m-%d} "
                f"({self.years} years){'' if self.dry_run else f' in {self.batches} batch(es)'}"
                f"; {self.drafts} case draft(s) older than {case_drafts.KEPT_FOR.days} days"
                f".\nContacts: {', '.join(map(str, self.contacts)) or 'none'}"
                f"\nCall-back requests: {', '.join(map(str, self.requests)) or 'none'}")


def cutoff_for(years: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=365 * years)


def _identifiable():
    """A contact still holding something that identifies them (email-only ones too)."""
    return or_(Contact.first_name.is_not(None), Contact.last_name.is_not(None),
               Contact.phone.is_not(None), Contact.email.is_not(None),
               Contact.address.is_not(None), Contact.postcode.is_not(None),
               Contact.date_of_birth.is_not(None))


def _contact_quiet_since(cutoff: datetime):
    """No change to the contact, their cases, calls or call-back requests since cutoff."""
    return [Contact.updated_at < cutoff, Contact.created_at < cutoff,
            or_(Contact.last_case_at.is_(None), Contact.last_case_at < cutoff),
            ~exists().where(or_(Case.caller_id == Contact.id, Case.beneficiary_id == Contact.id),
                            Case.updated_at >= cutoff),
            ~exists().where(Interaction.enquirer_id == Contact.id,
                            Interaction.interaction_date >= cutoff),
            ~exists().where(CallBackRequest.contact_id == Contact.id,
                            or_(CallBackRequest.received_at >= cutoff,
                                CallBackRequest.closed_at >= cutoff))]


def due_contacts(cutoff: datetime) -> list[int]:
    """Ids of contacts to erase, by keys and dates only."""
    return list(db.session.scalars(select(Contact.id).where(
        _identifiable(), *_contact_quiet_since(cutoff)).order_by(Contact.id)))


def _request_not_erased():
    # must match privacy.erase_callback_request, which puts the placeholder in full_name
    return or_(CallBackRequest.full_name != privacy.PLACEHOLDER,
               CallBackRequest.address.is_not(None), CallBackRequest.date_of_birth.is_not(None))


def due_requests(cutoff: datetime) -> list[int]:
    """Ids of call-back requests never linked to a contact and quiet since cutoff."""
    r = CallBackRequest
    return list(db.session.scalars(select(r.id).where(
        r.contact_id.is_(None), _request_not_erased(), r.received_at < cutoff,
        r.created_at < cutoff, or_(r.closed_at.is_(None), r.closed_at < cutoff),
        or_(r.allocated_at.is_(None), r.allocated_at < cutoff),
        or_(r.required_at.is_(None), r.required_at < cutoff),
        ~exists().where(CallAttempt.request_id == r.id, CallAttempt.made_at >= cutoff))
        .order_by(r.id)))


def _still_due_contacts(ids: list[int], cutoff: datetime, started: datetime) -> set[int]:
    """Of a batch chosen at the start, those nobody touched since (a caller who rang during
    the run is kept). Changes the run itself makes to shared cases do not count."""
    return set(db.session.scalars(select(Contact.id).where(
        Contact.id.in_(ids), _identifiable(), Contact.updated_at < started,
        or_(Contact.last_case_at.is_(None), Contact.last_case_at < cutoff),
        ~exists().where(Interaction.enquirer_id == Contact.id,
                        Interaction.interaction_date >= cutoff))))


def _pause() -> float:
    return SQLITE_PAUSE_SECONDS if db.engine.dialect.name == "sqlite" else 0.0


def _in_batches(ids: list[int], keep: Callable[[list[int]], set[int]],
                erase: Callable[[int], object], size: int,
                seconds: float) -> tuple[list[int], int]:
    """Erase the ids `keep` still allows, each committed on its own (its reads never run
    inside an earlier record's write transaction), pausing after every `size` records or
    `seconds` of work, whichever comes first; returns (erased ids, batches). An `erase`
    that returns None found the record no longer due and left it alone."""
    done, batches, start = [], 0, 0
    while start < len(ids):
        began, chunk = time.monotonic(), ids[start:start + size]
        allowed = keep(chunk)
        db.session.commit()  # PostgreSQL: the check's transaction ends here too
        processed = 0
        for record_id in chunk:
            processed += 1
            if record_id in allowed and erase(record_id) is not None:
                done.append(record_id)
            db.session.commit()  # frees the write lock before the next record's reads
            if time.monotonic() - began >= seconds:
                break
        db.session.expunge_all()
        batches, start = batches + 1, start + processed
        if start < len(ids):
            time.sleep(_pause())  # let waiting writers in
    return done, batches


def erase_unlinked_request(request_id: int, reason: str) -> int | None:
    """Erase a request still linked to no contact; None (nothing done) when it was linked
    since it was found due — its contact is then kept or erased by the contact's own
    retention, never by the request's (review finding: it anonymised the contact)."""
    # get_one: requests are never deleted (erasure empties them); the id was just read
    req = db.session.get_one(CallBackRequest, request_id)
    if req.contact_id is not None:
        return None
    return privacy.erase_callback_request(req, reason, None)


def _unlinked(ids: list[int]) -> set[int]:
    return set(db.session.scalars(select(CallBackRequest.id).where(
        CallBackRequest.id.in_(ids), CallBackRequest.contact_id.is_(None))))


def run(years: int, now: datetime | None = None, dry_run: bool = False,
        batch_size: int = BATCH_SIZE, batch_seconds: float = BATCH_SECONDS) -> Report:
    """Erase everything due, in batches with a commit each; dry: only list it."""
    started = utcnow()
    report = Report(years, cutoff_for(years, now), dry_run=dry_run)
    contacts, requests = due_contacts(report.cutoff), due_requests(report.cutoff)
    if dry_run:
        report.contacts, report.requests = contacts, requests
        db.session.rollback()
        return report
    report.drafts = case_drafts.purge(now)  # by date only: a week is long enough
    telephony.expire(report.cutoff)  # the call log: by date, the contacts' period
    telephony.purge_pings(now)  # the panel's wake-up notifications: a day
    db.session.commit()
    reason = f"Retention: no activity for {years} years"
    # get_one: contacts and requests are never deleted (erasure empties them), and every id
    # was just read from the table
    report.contacts, n1 = _in_batches(
        contacts, lambda ids: _still_due_contacts(ids, report.cutoff, started),
        lambda i: privacy.anonymise(db.session.get_one(Contact, i), reason, None),
        batch_size, batch_seconds)
    report.requests, n2 = _in_batches(
        requests, _unlinked, lambda i: erase_unlinked_request(i, reason),
        batch_size, batch_seconds)
    report.batches = n1 + n2
    return report


def run_once_today(connection: redis.Redis, years: int, now: datetime | None = None,
                   **kwargs) -> Report | None:
    """Run unless another worker already has today (UTC): one SET NX EX key per day.
    None when it was not this worker's turn; a failed run frees the day for a retry."""
    key = LOCK_KEY.format(day=(now or utcnow()).date().isoformat())
    holder = f"{socket.gethostname()}:{os.getpid()}:{time.time():.0f}"
    if not connection.set(key, holder, nx=True, ex=LOCK_SECONDS):
        return None
    try:
        report = run(years, now=now, **kwargs)
    except BaseException:
        db.session.rollback()
        connection.delete(key)
        raise
    log.info("retention: %s", report.describe().splitlines()[0])
    return report
