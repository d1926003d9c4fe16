"""Data-team rules: the review queue, accept / send back, and exports (run as RQ jobs)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..audit.models import AuditEntry
from ..auth.models import User
from ..cases import services as case_services
from ..cases.models import Case
from ..cases.signals import case_accepted
from ..contacts.models import Contact
from ..lookups.models import offered
from ..notifications.services import notify
from ..rules import RuleError
from ..timeutil import utcnow


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
        raise RuleError("Tick every checklist item before accepting: " + "; ".join(missing),
                          field="checklist")
    if case.status != "Ready for review":
        raise RuleError(f"Only a case Ready for review can be accepted (this one is "
                          f"{case.status})", field="checklist")
    case_services.set_status(case, "Reviewed", actor, reason="Checklist: " + "; ".join(required))
    case.reviewed_at, case.reviewed_by_id, case.updated_since_review = utcnow(), actor.id, False
    case_accepted.send(case, actor=actor)


def send_back(case: Case, comment: str, actor: User, link: str) -> None:
    """Send back with a comment: the owner is notified and the case returns to them."""
    if not (comment or "").strip():
        raise RuleError("Enter a comment saying what needs to change", field="comment")
    case_services.set_status(case, "Sent back", actor, reason=comment.strip())
    case_services.add_note(case, f"Sent back by the data team: {comment.strip()}", actor)
    if case.owner:
        notify([case.owner], f"Case {case.reference} was sent back by the data team",
               comment.strip()[:200], link, kind="review")


# --- exports live in exports.py ------------------------------------------------------

def __getattr__(name: str):
    """Old names (e.g. a job queued as helpline.review.services.run_export) still resolve."""
    if name in ("COLUMNS", "PERSONAL", "export_query", "neutralise", "run_export",
                "start_export"):
        from . import exports  # exports imports services: old job names, resolved late
        return getattr(exports, name)
    raise AttributeError(name)
