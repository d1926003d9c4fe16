"""Data-team rules: the review queue, accept / send back, and exports (run as RQ jobs)."""
from __future__ import annotations

import csv
import hashlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from .. import audit
from ..audit.models import AuditEntry
from ..auth.models import User
from ..cases import services as case_services
from ..cases.models import REFERENCE_OFFSET, Case, CaseNote, Referral, Signpost
from ..contacts.models import Contact
from ..extensions import db
from ..interactions.models import Interaction
from ..jobs import enqueue_after_commit, task
from ..lookups.models import offered
from ..notifications.services import notify
from ..timeutil import london_format, utcnow
from .models import ExportBatch

KEEP_DAYS = 30
PROGRESS_EVERY = 500
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


class ReviewError(ValueError):
    """A rule was broken; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def queue_query(region: str | None = None, team_id: int | None = None,
                since: date | None = None, until: date | None = None,
                updated_only: bool = False):
    """Cases Ready for review, oldest first, filtered."""
    stmt = select(Case).join(Contact, Case.caller_id == Contact.id).where(
        Case.status == "Ready for review")
    if region:
        stmt = stmt.where(Contact.region == region)
    if team_id:
        stmt = stmt.where(Case.team_id == team_id)
    if since:
        stmt = stmt.where(Case.created_at >= datetime.combine(since, datetime.min.time()))
    if until:
        stmt = stmt.where(Case.created_at < datetime.combine(until + timedelta(days=1),
                                                             datetime.min.time()))
    if updated_only:
        stmt = stmt.where(Case.updated_since_review.is_(True))
    return stmt.order_by(Case.updated_at, Case.id)


def changes_since_review(case: Case) -> list[AuditEntry]:
    """What changed since the last review (everything, if never reviewed)."""
    return case_services.case_history(case, after=case.reviewed_at)


def accept(case: Case, ticked: list[str], actor: User) -> None:
    """Accept (→ Reviewed) once every checklist item is ticked."""
    required = [i.name for i in offered("review_checklist")]
    missing = [r for r in required if r not in ticked]
    if missing:
        raise ReviewError("Tick every checklist item before accepting: " + "; ".join(missing),
                          field="checklist")
    if case.status != "Ready for review":
        raise ReviewError(f"Only a case Ready for review can be accepted (this one is "
                          f"{case.status})", field="checklist")
    case_services.set_status(case, "Reviewed", actor, reason="Checklist: " + "; ".join(required))
    case.reviewed_at, case.reviewed_by_id, case.updated_since_review = utcnow(), actor.id, False


def send_back(case: Case, comment: str, actor: User, link: str) -> None:
    """Send back with a comment: the owner is notified and the case returns to them."""
    if not (comment or "").strip():
        raise ReviewError("Enter a comment saying what needs to change", field="comment")
    case_services.set_status(case, "Sent back", actor, reason=comment.strip())
    case_services.add_note(case, f"Sent back by the data team: {comment.strip()}", actor)
    if case.owner:
        notify([case.owner], f"Case {case.reference} was sent back by the data team",
               comment.strip()[:200], link, kind="review")


# --- exports ---------------------------------------------------------------------

COLUMNS = ["Case reference", "Created", "Updated", "Reviewed at", "Reviewed by", "Region",
           "Postcode area", "Who Requires Urgent Practical Support",
           "Psychosocial Support Given", "Safeguarding Activated", "Local Signposts",
           "Local Referrals", "Feedback Consent", "Interactions"]
PERSONAL = ["Caller name", "Caller phone", "Safeguarding Reason", "Summary Notes"]


def neutralise(value: Any) -> Any:
    """Stop spreadsheet formula injection: text starting with = + - @ is prefixed with '."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def export_query(filters: dict):
    """Reviewed cases matching the export filters, in a stable order."""
    stmt = select(Case).join(Contact, Case.caller_id == Contact.id).where(
        Case.reviewed_at.is_not(None))
    if filters.get("region"):
        stmt = stmt.where(Contact.region == filters["region"])
    if filters.get("team_id"):
        stmt = stmt.where(Case.team_id == int(filters["team_id"]))
    if filters.get("since"):
        stmt = stmt.where(Case.reviewed_at >= datetime.fromisoformat(filters["since"]))
    if filters.get("until"):
        stmt = stmt.where(Case.reviewed_at < datetime.fromisoformat(filters["until"])
                          + timedelta(days=1))
    if filters.get("not_exported"):
        stmt = stmt.where(Case.export_batch_id.is_(None))
    return stmt.order_by(Case.id)


def start_export(filters: dict, fmt: str, with_personal: bool, actor: User) -> ExportBatch:
    """Log the batch and run it as a job after the commit."""
    if with_personal and actor.role != "data":
        raise ReviewError("Only the data team can export personal data", field="with_personal")
    if fmt not in ("csv", "xlsx"):
        raise ReviewError("Choose CSV or XLSX", field="fmt")
    batch = ExportBatch(created_by_id=actor.id, filters=filters, fmt=fmt,
                        with_personal=with_personal)
    db.session.add(batch)
    db.session.flush()
    audit.record(actor, "export", "export batch", batch.id,
                 reason=f"{fmt.upper()}{' with personal data' if with_personal else ''}; "
                        f"filters {filters}")
    enqueue_after_commit(run_export, batch.id, job_id=f"export-{batch.id}")
    return batch


def _fmt(value) -> str:
    return london_format(value) if value else ""


YES_NO = {True: "Yes", False: "No"}


def _chunk_details(chunk: list[int], personal: bool) -> dict[str, dict]:
    """Signposts, referrals, interaction counts (and notes) for a chunk, in a few queries."""
    from ..lookups.models import LookupItem
    out: dict[str, dict] = {"signposts": {}, "referrals": {}, "notes": {}}
    for case_id, name in db.session.execute(
            select(Signpost.case_id, LookupItem.name).join(LookupItem, Signpost.category_id
                                                           == LookupItem.id)
            .where(Signpost.case_id.in_(chunk)).order_by(Signpost.id)):
        out["signposts"].setdefault(case_id, []).append(name)
    for case_id, name, status in db.session.execute(
            select(Referral.case_id, LookupItem.name, Referral.status)
            .join(LookupItem, Referral.response_type_id == LookupItem.id)
            .where(Referral.case_id.in_(chunk)).order_by(Referral.id)):
        out["referrals"].setdefault(case_id, []).append(f"{name} ({status})")
    out["interactions"] = dict(db.session.execute(
        select(Interaction.case_id, func.count(Interaction.id))
        .where(Interaction.case_id.in_(chunk)).group_by(Interaction.case_id)).all())
    if personal:
        for case_id, at, text in db.session.execute(
                select(CaseNote.case_id, CaseNote.at, CaseNote.text)
                .where(CaseNote.case_id.in_(chunk)).order_by(CaseNote.id)):
            out["notes"].setdefault(case_id, []).append(f"{_fmt(at)}: {text}")
    return out


def _rows(batch: ExportBatch) -> Iterator[list]:
    """Rows for the export, read with plain SQL in chunks (constant memory, no ORM objects)."""
    batch_id, personal = batch.id, batch.with_personal
    ids = list(db.session.scalars(export_query(batch.filters).with_only_columns(Case.id)))
    batch.total = len(ids)
    db.session.commit()
    reviewer = aliased(User)
    for start in range(0, len(ids), PROGRESS_EVERY):
        chunk = ids[start:start + PROGRESS_EVERY]
        more = _chunk_details(chunk, personal)
        rows = db.session.execute(
            select(Case.id, Case.created_at, Case.updated_at, Case.reviewed_at, reviewer.name,
                   Contact.region, Contact.postcode_area, Case.who_requires_support,
                   Case.psychosocial_support, Case.safeguarding_activated, Case.feedback_consent,
                   Contact.first_name, Contact.last_name, Contact.phone, Contact.consent_status,
                   Case.safeguarding_reason)
            .join(Contact, Case.caller_id == Contact.id)
            .outerjoin(reviewer, Case.reviewed_by_id == reviewer.id)
            .where(Case.id.in_(chunk)).order_by(Case.id))
        for r in rows:
            row = [f"CA{r[0] + REFERENCE_OFFSET}", _fmt(r[1]), _fmt(r[2]), _fmt(r[3]), r[4] or "",
                   r[5], r[6], r[7], YES_NO[bool(r[8])], YES_NO[bool(r[9])],
                   "; ".join(more["signposts"].get(r[0], [])),
                   "; ".join(more["referrals"].get(r[0], [])), YES_NO.get(r[10], ""),
                   more["interactions"].get(r[0], 0)]
            if personal:
                named = r[14] == "Consent given"
                row += [" ".join(p for p in (r[11], r[12]) if p) if named else "",
                        r[13] or "", r[15] or "", "\n".join(more["notes"].get(r[0], []))]
            yield [neutralise(v) for v in row]
        # one statement per chunk (an export marks cases; it is not an edit of them)
        db.session.execute(update(Case).where(Case.id.in_(chunk))
                           .values(export_batch_id=batch_id)
                           .execution_options(synchronize_session=False))
        batch = db.session.get(ExportBatch, batch_id)
        batch.done_rows = min(len(ids), start + len(chunk))
        db.session.commit()
        db.session.expunge_all()


@task
def run_export(batch_id: int) -> str:
    """Write the export file in constant memory, with progress; idempotent."""
    batch = db.session.get(ExportBatch, batch_id)
    if batch is None or batch.status == "done":
        return "nothing to do"
    folder = Path(current_app.config["EXPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"export-{batch.id}.{batch.fmt}"
    batch.status, batch.file_path = "running", str(path)
    db.session.commit()
    header = COLUMNS + (PERSONAL if batch.with_personal else [])
    try:
        (_write_xlsx if batch.fmt == "xlsx" else _write_csv)(path, header, _rows(batch))
    except Exception as exc:
        db.session.rollback()
        batch = db.session.get(ExportBatch, batch_id)
        batch.status, batch.error = "failed", f"{type(exc).__name__}: {exc}"
        db.session.commit()
        raise
    batch = db.session.get(ExportBatch, batch_id)
    batch.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    batch.status, batch.finished_at = "done", utcnow()
    batch.expires_at = batch.finished_at + timedelta(days=KEEP_DAYS)
    db.session.commit()
    return "done"


def _write_csv(path: Path, header: list, rows: Iterator[list]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)


def _write_xlsx(path: Path, header: list, rows: Iterator[list]) -> None:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)  # streams rows to disk
    ws = wb.create_sheet("Cases")
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
