"""Data-protection tools: subject access export, anonymisation, retention."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Text, func, or_, select, update

from .. import audit
from ..audit.models import AuditEntry
from ..auth.models import User
from ..callbacks.models import CallBack
from ..cases.models import Case, CaseNote
from ..contacts.models import Contact, Verification
from ..extensions import db
from ..interactions.models import Interaction
from ..timeutil import utcnow

PLACEHOLDER = "[anonymised]"


def _plain(obj: Any) -> dict:
    out = {}
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def subject_access(contact: Contact, actor: User) -> bytes:
    """Everything held about one contact, as a ZIP of JSON and CSV; the request is logged."""
    cases = list(db.session.scalars(select(Case).where(
        or_(Case.caller_id == contact.id, Case.beneficiary_id == contact.id))))
    case_ids = [c.id for c in cases]
    refs = [c.reference for c in cases]
    data = {
        "contact": _plain(contact),
        "cases": [_plain(c) for c in cases],
        "notes": [_plain(n) for n in db.session.scalars(
            select(CaseNote).where(CaseNote.case_id.in_(case_ids)))] if case_ids else [],
        "interactions": [_plain(i) for i in db.session.scalars(select(Interaction).where(
            or_(Interaction.enquirer_id == contact.id, Interaction.case_id.in_(case_ids))))],
        "call_backs": [_plain(cb) for cb in db.session.scalars(
            select(CallBack).where(CallBack.case_id.in_(case_ids)))] if case_ids else [],
        "audit": [_plain(a) for a in db.session.scalars(select(AuditEntry).where(
            or_((AuditEntry.record_type == "contact") & (AuditEntry.record_id == str(contact.id)),
                (AuditEntry.record_type == "case") & (AuditEntry.record_id.in_(refs)))))],
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("subject-access.json", json.dumps(data, indent=2, default=str))
        for name, rows in data.items():
            rows = rows if isinstance(rows, list) else [rows]
            out = io.StringIO()
            if rows:
                writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()))
                writer.writeheader()
                writer.writerows({k: json.dumps(v) if isinstance(v, (dict, list)) else v
                                  for k, v in r.items()} for r in rows)
            zf.writestr(f"{name}.csv", out.getvalue())
    audit.record(actor, "subject-access", "contact", contact.id,
                 reason=f"{len(cases)} case(s) exported")
    return buf.getvalue()


def _tokens(contact: Contact) -> list[str]:
    """The personal strings to scrub everywhere they were copied."""
    parts = [contact.full_name if contact.has_consent else None,
             " ".join(p for p in (contact.first_name, contact.last_name) if p) or None,
             contact.phone, contact.email, contact.address,
             contact.postcode, contact.last_name if contact.last_name and len(contact.last_name) > 2 else None]
    seen, out = set(), []
    for p in parts:
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    return sorted(out, key=len, reverse=True)


def _text_columns():
    for table in db.metadata.sorted_tables:
        for col in table.columns:
            if isinstance(col.type, (String, Text)) and not col.primary_key and \
                    table.name not in ("users", "user_sessions", "login_attempts", "teams",
                                       "lookup_items", "response_type_fields", "alembic_version"):
                yield table, col


def anonymise(contact: Contact, reason: str, actor: User | None) -> int:
    """Replace personal fields and every copy of them in free text with placeholders.
    Counts, categories and regions stay, so statistics are unchanged. Irreversible."""
    if not (reason or "").strip():
        raise ValueError("Give a reason for anonymising this contact")
    tokens = _tokens(contact)
    replaced = 0
    for table, col in _text_columns():
        length = getattr(col.type, "length", None)
        # a short column (e.g. a postcode) cannot hold the placeholder: blank the token out
        placeholder = PLACEHOLDER if not length or length >= 40 else ""
        for token in tokens:
            result = db.session.execute(
                update(table).where(col.contains(token, autoescape=True))
                .values({col.key: func.replace(col, token, placeholder)}))
            replaced += result.rowcount or 0
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    for field in ("first_name", "last_name", "phone", "email", "address", "postcode",
                  "preferred_contact_time", "first_key", "last_key", "full_key",
                  "phone_key", "postcode_key", "last_sound"):
        setattr(contact, field, None)
    contact.date_of_birth = None
    contact.consent_status = "Consent not requested"
    db.session.execute(update(Verification).where(Verification.contact_id == contact.id)
                       .values(details=PLACEHOLDER))
    audit.record(actor, "anonymise", "contact", contact.id, reason=reason.strip())
    return replaced


# Retention moved to retention.py (run(), run_once_today()).


# TEMP until merge: the lead's privacy.erase_callback_request replaces this. Clears the
# request's personal fields and its attempts' notes; retention.py calls it.
def erase_callback_request(req, reason: str, actor: User | None) -> None:
    """Erase one call-back request's personal data (name, phone, address, date of birth,
    notes and its attempts' notes). Irreversible; the caller commits."""
    if not (reason or "").strip():
        raise ValueError("Give a reason for erasing this call-back request")
    req.full_name, req.contact_number = PLACEHOLDER, PLACEHOLDER
    req.address = req.date_of_birth = req.notes = None
    for attempt in req.attempts:
        attempt.notes = None
    audit.record(actor, "anonymise", "call-back request", req.id, reason=reason.strip())
