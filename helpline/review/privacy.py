"""Data-protection tools: subject access export, anonymisation, retention."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import mailbox
import os
import zipfile
from collections.abc import Iterable
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update

from .. import audit
from ..audit.models import AuditEntry
from ..auth.models import User
from ..callback_requests.models import CallAttempt, CallBackRequest, UniqueCallBack
from ..callbacks.models import CallBack
from ..cases import drafts as case_drafts
from ..cases.models import Case, CaseNote, Referral, Signpost
from ..contacts import signals as contact_signals
from ..contacts.models import Contact, Verification
from ..extensions import db
from ..interactions.models import Interaction
from ..lookups.models import LookupItem
from ..mailer import OutboxMail
from ..notifications.models import Notification
from ..telephony import services as telephony
from ..timeutil import utcnow
from . import erasure
from .erasure import PLACEHOLDER
from .models import ExportBatch
from .services import neutralise

# The tables the subject access export and the scrub read by primary key (each has `id`).
_IdModel = (Contact | Verification | Case | CaseNote | Signpost | Referral | Interaction
            | CallBack | CallBackRequest | CallAttempt | UniqueCallBack | Notification
            | OutboxMail | AuditEntry)


def _readable(obj: Any) -> dict:
    """A row as plain values, with the name beside every lookup and user id."""
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if hasattr(value, "isoformat") else value
        targets = {fk.column.table.name for fk in col.foreign_keys}
        if value is not None and "lookup_items" in targets:
            item = db.session.get(LookupItem, value)
            out[f"{col.key}_name"] = item.name if item else None
        elif value is not None and "users" in targets:
            user = db.session.get(User, value)
            out[f"{col.key}_name"] = user.name if user else None
    return out


SAR_README = """Subject access export — Helpline

Everything this helpline holds about one person, found from their contact record:
the contact (and any duplicate merged into it), the verifications recorded when they
called, the cases where they are the caller or the beneficiary with every note,
signpost and referral on them, the interactions (calls, emails, messages) where they
are the enquirer or that belong to those cases, the call backs on those cases, the
call-back requests for them with every call attempt and the call backs raised from
them, the notifications and e-mails staff received about these records, and the audit
trail of who viewed or changed each of them (with before and after values).

One CSV file per kind of record (UTF-8, first row = column names). Values that a
spreadsheet would run as a formula start with an apostrophe. Columns ending in _name
give the name of the list item or staff member whose id is beside them. Dates and
times are UTC, ISO 8601. subject-access.json holds the same records in one file.
"""


def subject_access(contact: Contact, actor: User) -> bytes:
    """Everything held about one contact (its whole erasure set), as a ZIP of CSV files, a
    README and JSON; the request is logged."""
    s = erasure.collect(contact)
    in_ = erasure._in
    kinds: list[tuple[str, type[_IdModel], set[int]]] = [
        ("contacts", Contact, s.contacts), ("verifications", Verification, s.verifications),
        ("cases", Case, s.cases), ("notes", CaseNote, s.notes),
        ("signposts", Signpost, _signpost_ids(s)), ("referrals", Referral, s.referrals),
        ("interactions", Interaction, s.interactions),
        ("call_backs", CallBack, s.call_backs),
        ("call_back_requests", CallBackRequest, s.requests),
        ("call_attempts", CallAttempt, s.attempts),
        ("functionally_unique_call_backs", UniqueCallBack, s.unique),
        ("notifications", Notification, s.notifications),
        ("emails", OutboxMail, s.outbox), ("audit", AuditEntry, s.audit),
    ]
    data: dict[str, list[dict]] = {}
    for name, model, ids in kinds:
        found: Iterable[_IdModel] = db.session.scalars(
            select(model).where(in_(model.id, ids)).order_by(model.id)) if ids else []
        data[name] = [_readable(r) for r in found]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        training = current_app.config.get("TRAINING")
        zf.writestr("README.txt", (
            "TRAINING — practice data only, not real callers (from the training site).\n\n"
            if training else "") + SAR_README)
        zf.writestr("subject-access.json", json.dumps(data, indent=2, default=str))
        for name, rows in data.items():
            out = io.StringIO()
            fields: list[str] = []
            for r in rows:
                fields += [k for k in r if k not in fields]
            if fields:
                writer = csv.DictWriter(out, fieldnames=fields)
                writer.writeheader()
                writer.writerows({k: neutralise(json.dumps(v) if isinstance(v, (dict, list))
                                                else v) for k, v in r.items()} for r in rows)
            zf.writestr(f"{name}.csv", out.getvalue())
    audit.record(actor, "subject-access", "contact", contact.id,
                 reason=", ".join(f"{len(rows)} {name.replace('_', ' ')}"
                                  for name, rows in data.items() if rows))
    return buf.getvalue()


def _signpost_ids(s: erasure.SubjectSet) -> set[int]:
    if not s.cases:
        return set()
    return set(db.session.scalars(select(Signpost.id).where(
        erasure._in(Signpost.case_id, s.cases))))


def erasure_summary(contact: Contact) -> dict[str, int]:
    """How many records of each kind anonymising this contact would change."""
    s = erasure.collect(contact)
    return {"contacts": len(s.contacts), "cases": len(s.cases), "notes": len(s.notes),
            "interactions": len(s.interactions), "call backs": len(s.call_backs),
            "call-back requests": len(s.requests), "call attempts": len(s.attempts),
            "functionally unique call backs": len(s.unique),
            "audit entries": len(s.audit), "notifications": len(s.notifications),
            "e-mails": len(s.outbox)}


# (table model, text columns to scrub, set attribute)
_SCRUB: list[tuple[type[_IdModel], tuple[str, ...], str]] = [
    (Verification, ("details",), "verifications"),
    (Case, ("title", "safeguarding_reason", "solution", "cause"), "cases"),
    (CaseNote, ("text",), "notes"),
    (Referral, ("declined_reason", "extra"), "referrals"),
    (Interaction, ("notes",), "interactions"),
    (CallBack, ("description", "contact_number"), "call_backs"),
    (CallAttempt, ("notes",), "attempts"),
    (CallBackRequest, ("notes", "stopped_reason"), "requests"),
    (UniqueCallBack, ("time_preferences", "reason", "contact_number"), "unique"),
    (Notification, ("title", "body"), "notifications"),
    (OutboxMail, ("subject", "body"), "outbox"),
]


def _plan_scrub(s: erasure.SubjectSet, ids: erasure.Identifiers) -> list[tuple[Any, list]]:
    """The new text of the subject's rows, computed before anything is written (so the
    database's write lock is held only for the UPDATEs themselves)."""
    plan = []
    in_ = erasure._in
    for model, columns, attr in _SCRUB:
        row_ids = getattr(s, attr)
        if not row_ids:
            continue
        cols = [getattr(model, c) for c in columns]
        rows = []
        for row in db.session.execute(select(model.id, *cols).where(in_(model.id, row_ids))):
            values = {c: ids.scrub(v) for c, v in zip(columns, row[1:], strict=True)}
            values = {c: v for c, v in values.items() if v != getattr(row, c)}
            if values:
                rows.append({"id": row.id, **values})
        plan += _by_columns(model, rows)
    return plan


def _by_columns(model, rows: list[dict]) -> list[tuple[Any, list]]:
    """Group row updates by the columns they set (one executemany per group)."""
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(r)), []).append(r)
    return [(model, g) for g in groups.values()]


def _plan_people(s: erasure.SubjectSet, ids: erasure.Identifiers) -> list[tuple[Any, list]]:
    """The subject's audit rows: their own personal fields' before/after go wholesale,
    every other text is scrubbed."""
    contact_ids = {str(i) for i in s.contacts}
    request_ids = {str(i) for i in s.requests}
    rows = []
    for entry in db.session.execute(select(AuditEntry.id, AuditEntry.record_type,
                                           AuditEntry.record_id, AuditEntry.field,
                                           AuditEntry.before, AuditEntry.after,
                                           AuditEntry.reason)
                                    .where(erasure._in(AuditEntry.id, s.audit))):
        own = (entry.record_type == "contact" and entry.record_id in contact_ids) or \
            (entry.record_type == "call-back request" and entry.record_id in request_ids)
        if own and entry.field in erasure.PERSONAL_AUDIT_FIELDS:
            values = {"before": PLACEHOLDER if entry.before else entry.before,
                      "after": PLACEHOLDER if entry.after else entry.after}
        else:
            values = {"before": ids.scrub(entry.before), "after": ids.scrub(entry.after)}
        values["reason"] = ids.scrub(entry.reason)
        values = {k: v for k, v in values.items() if v != getattr(entry, k)}
        if values:
            rows.append({"id": entry.id, **values})
    return _by_columns(AuditEntry, rows)


def _apply(plan: list[tuple[Any, list]]) -> int:
    """Core executemany UPDATE by primary key (no per-object events: the append-only guard on notes
    is for handlers; erasure is the one lawful exception)."""
    for model, rows in plan:
        table = model.__table__
        cols = [k for k in rows[0] if k != "id"]
        stmt = table.update().where(table.c.id == bindparam("b_id")).values(
            {c: bindparam(f"b_{c}") for c in cols})
        db.session.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])
    return sum(len(rows) for _m, rows in plan)


def _erase_people(s: erasure.SubjectSet, now: datetime) -> None:
    in_ = erasure._in
    personal = dict(first_name=None, last_name=None, phone=None, email=None, address=None,
                    postcode=None, date_of_birth=None, preferred_contact_time=None,
                    first_key=None, last_key=None, full_key=None, phone_key=None,
                    postcode_key=None, last_sound=None, anonymised_at=now)
    db.session.execute(update(Contact).where(in_(Contact.id, s.contacts)).values(personal)
                       .execution_options(synchronize_session=False))
    if s.requests:
        db.session.execute(update(CallBackRequest).where(in_(CallBackRequest.id, s.requests))
                           .values(full_name=PLACEHOLDER, address=None, date_of_birth=None,
                                   contact_number=PLACEHOLDER, anonymised_at=now)
                           .execution_options(synchronize_session=False))
    if s.own_call_backs:
        db.session.execute(update(CallBack).where(in_(CallBack.id, s.own_call_backs))
                           .values(contact_number=PLACEHOLDER)
                           .execution_options(synchronize_session=False))
    if s.own_unique:
        db.session.execute(update(UniqueCallBack).where(in_(UniqueCallBack.id, s.own_unique))
                           .values(contact_number=PLACEHOLDER)
                           .execution_options(synchronize_session=False))


def _delete_attachments(s: erasure.SubjectSet) -> int:
    """The paper forms attached to the subject's call-back requests are deleted (a scanned
    form is all personal data); the request keeps that it had one."""
    folder = current_app.config.get("ATTACHMENT_DIR")
    if not s.requests or not folder:
        return 0
    done = 0
    for key in db.session.scalars(select(CallBackRequest.attachment_key).where(
            erasure._in(CallBackRequest.id, s.requests),
            CallBackRequest.attachment_key.is_not(None))):
        assert key is not None  # the query takes only requests with an attachment
        path = Path(folder) / key
        if path.is_file():
            path.unlink()
            done += 1
    if done or s.requests:
        db.session.execute(update(CallBackRequest).where(
            erasure._in(CallBackRequest.id, s.requests),
            CallBackRequest.attachment_key.is_not(None))
            .values(attachment_key=None, attachment_name=PLACEHOLDER)
            .execution_options(synchronize_session=False))
    return done


def _scrub_exports(s: erasure.SubjectSet, ids: erasure.Identifiers, actor: User | None) -> int:
    """Rewrite the subject's rows in export files still on disk that hold personal data
    (exports without personal data hold no identifying values)."""
    refs = s.case_refs
    if not refs:
        return 0
    done = 0
    batches = db.session.scalars(select(ExportBatch).where(
        ExportBatch.with_personal.is_(True), ExportBatch.file_path.is_not(None)))
    for batch in batches:
        assert batch.file_path is not None  # the query takes only batches with a file
        path = Path(batch.file_path)
        if not path.exists():
            continue
        rewrite = _scrub_xlsx if path.suffix == ".xlsx" else _scrub_csv
        if rewrite(path, refs, ids):
            batch.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            audit.record(actor, "erase", "export batch", batch.id,
                         reason="Rows of an erased contact scrubbed from the file")
            done += 1
    return done


def _scrub_csv(path: Path, refs: set[str], ids: erasure.Identifiers) -> bool:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    hit = False
    for i, row in enumerate(rows[1:], start=1):
        if row and row[0] in refs:
            new = [ids.scrub(v) for v in row]
            if new != row:
                rows[i], hit = new, True
    if hit:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("w", newline="", encoding="utf-8-sig") as fh:
            csv.writer(fh).writerows(rows)
        os.replace(tmp, path)
    return hit


def _scrub_xlsx(path: Path, refs: set[str], ids: erasure.Identifiers) -> bool:
    from openpyxl import load_workbook
    wb = load_workbook(path)
    hit = False
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2):
            if row and row[0].value in refs:
                for cell in row:
                    new = ids.scrub(cell.value)
                    if new != cell.value:
                        cell.value, hit = new, True
    if hit:
        tmp = path.with_suffix(".tmp.xlsx")
        wb.save(tmp)
        os.replace(tmp, path)
    return hit


def _scrub_catcher(keys: set[str], ids: erasure.Identifiers) -> int:
    """The local mail catcher keeps copies of sent mail: scrub the subject's messages
    (found by their Message-ID, which is the outbox key)."""
    folder = current_app.config.get("MAIL_CATCHER_DIR")
    if not folder or not keys or not (Path(folder) / "new").exists():
        return 0
    box = mailbox.Maildir(folder, create=False)
    done = 0
    for key, msg in list(box.items()):
        parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
        msg_id = str(parsed.get("Message-ID", "")).strip("<> ")
        if msg_id.rsplit("@", 1)[0] not in keys:
            continue
        body = parsed.get_body(preferencelist=("plain", "html"))
        new = EmailMessage(policy=policy.default)
        for header, value in parsed.items():
            if header.lower() not in ("content-type", "content-transfer-encoding",
                                      "mime-version"):
                new[header] = ids.scrub(str(value))
        new.set_content(ids.scrub(body.get_content() if body is not None else ""))
        box[key] = new
        done += 1
    return done


def anonymise(contact: Contact, reason: str, actor: User | None) -> int:
    """Erase one person: inside the rows that belong to them (erasure.collect) and only
    there, every identifying value is removed; their own personal fields are emptied.
    Region, postcode area, dates, categories and outcomes stay for statistics. Nothing
    outside the set changes. Irreversible. Returns the number of rows changed."""
    if not (reason or "").strip():
        raise ValueError("Give a reason for anonymising this contact")
    s = erasure.collect(contact)
    ids = erasure.identifiers(s)
    keys = erasure.outbox_keys(s)
    calls = telephony.erase_for_contacts(s.contacts, actor)  # their numbers in the call log
    plan = _plan_scrub(s, ids) + _plan_people(s, ids)  # reads only
    _scrub_exports(s, ids, actor)
    _scrub_catcher(keys, ids)
    db.session.flush()
    changed = _apply(plan)  # the writes, in one short burst
    _erase_people(s, utcnow())
    _delete_attachments(s)
    case_drafts.delete_ids(s.drafts)
    db.session.expire_all()
    audit.record(actor, "anonymise", "contact", contact.id, reason=ids.scrub(reason.strip()),
                 changes={"Records erased": (None, ", ".join(
                     f"{len(getattr(s, a))} {a.replace('_', ' ')}" for a in (
                         "contacts", "cases", "notes", "interactions", "call_backs",
                         "requests", "attempts", "audit") if getattr(s, a)))})
    return changed + calls + len(s.contacts) + len(s.requests)


def erase_callback_request(req: CallBackRequest, reason: str, actor: User | None) -> int:
    """Erase a call-back request never linked to a contact (retention): the request, its
    attempts, the call backs raised from it, and their audit rows, notifications and mails."""
    if req.contact_id is not None:
        # get_one: contacts are never deleted (erasure empties them), so the key's row is there
        return anonymise(db.session.get_one(Contact, req.contact_id), reason, actor)
    s = erasure.SubjectSet(requests={req.id})
    s.attempts = erasure._ids(select(CallAttempt.id).where(CallAttempt.request_id == req.id))
    s.call_backs = erasure._ids(select(CallBack.id).where(CallBack.request_id == req.id))
    s.own_call_backs = set(s.call_backs)
    s.notifications = erasure._ids(select(Notification.id).where(
        erasure._in(Notification.url, erasure._urls(s))))
    s.outbox = erasure._outbox_ids(s)
    s.audit = erasure._audit_ids(s)
    ids = erasure.identifiers(s)
    keys = erasure.outbox_keys(s)
    plan = _plan_scrub(s, ids) + _plan_people(s, ids)
    _scrub_catcher(keys, ids)
    changed = _apply(plan)
    _erase_people(s, utcnow())
    _delete_attachments(s)
    db.session.expire_all()
    audit.record(actor, "anonymise", "call-back request", req.id, reason=ids.scrub(reason))
    return changed + 1


# Retention moved to retention.py (run(), run_once_today()).


@contact_signals.merged.connect
def _erase_merged(loser: Contact, survivor: Contact, actor: User | None, **_kw) -> None:
    """The duplicate a merge left behind is erased like any other subject."""
    anonymise(loser, f"Merged into contact {survivor.id}", actor)
