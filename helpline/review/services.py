"""Data-team rules: the review queue, accept / send back, and exports (run as RQ jobs)."""
from __future__ import annotations

import csv
import hashlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from flask import current_app
from sqlalchemy import func, select

from .. import audit
from ..audit.models import AuditEntry
from ..auth.models import User
from ..cases import services as case_services
from ..cases.models import Case
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
    stmt = select(AuditEntry).where(AuditEntry.record_type == "case",
                                    AuditEntry.record_id == case.reference,
                                    AuditEntry.action.notin_(["view"]))
    if case.reviewed_at:
        stmt = stmt.where(AuditEntry.at > case.reviewed_at)
    return list(db.session.scalars(stmt.order_by(AuditEntry.id)))


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


def _row(case: Case, interactions: int, personal: bool) -> list:
    caller = case.caller
    row = [case.reference, london_format(case.created_at), london_format(case.updated_at),
           london_format(case.reviewed_at), case.reviewed_by.name if case.reviewed_by else "",
           caller.region, caller.postcode_area, case.who_requires_support,
           "Yes" if case.psychosocial_support else "No",
           "Yes" if case.safeguarding_activated else "No",
           "; ".join(s.category.name for s in case.signposts),
           "; ".join(f"{r.response_type.name} ({r.status})" for r in case.referrals),
           {True: "Yes", False: "No"}.get(case.feedback_consent, ""), interactions]
    if personal:
        row += [caller.full_name if caller.has_consent else "", caller.phone or "",
                case.safeguarding_reason or "",
                "\n".join(f"{london_format(n.at)} {n.author or ''}: {n.text}"
                          for n in reversed(case.notes))]
    return [neutralise(v) for v in row]


def _rows(batch: ExportBatch) -> Iterator[list]:
    batch_id, personal = batch.id, batch.with_personal
    ids = list(db.session.scalars(export_query(batch.filters).with_only_columns(Case.id)))
    batch.total = len(ids)
    db.session.commit()
    for start in range(0, len(ids), PROGRESS_EVERY):
        chunk = ids[start:start + PROGRESS_EVERY]
        counts = dict(db.session.execute(
            select(Interaction.case_id, func.count(Interaction.id))
            .where(Interaction.case_id.in_(chunk)).group_by(Interaction.case_id)).all())
        for case in db.session.scalars(select(Case).where(Case.id.in_(chunk)).order_by(Case.id)):
            yield _row(case, counts.get(case.id, 0), personal)
            case.export_batch_id = batch_id
        batch = db.session.get(ExportBatch, batch_id)
        batch.done_rows = min(len(ids), start + len(chunk))
        db.session.commit()
        db.session.expunge_all()  # constant memory however large the export


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
