"""Case rules: notes are append-only; changes after review go back to the data team."""
from __future__ import annotations

from sqlalchemy import select

from .. import audit
from ..auth.models import User
from ..contacts.models import Contact
from ..extensions import db
from ..timeutil import utcnow
from .models import OPEN_STATUSES, Case, CaseNote

MAX_NOTE = 10000


class CaseError(ValueError):
    """A rule was broken; `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def touch(case: Case, actor: User) -> None:
    """Mark the case updated; a case already reviewed goes back to the data team."""
    case.updated_at = utcnow()
    if case.status == "Reviewed" or case.reviewed_at is not None:
        if not case.updated_since_review:
            case.updated_since_review = True
            audit.record(actor, "update", "case", case.reference,
                         changes={"Updated since review": (False, True)})


def add_note(case: Case, text: str, actor: User) -> CaseNote:
    """Append a summary note (plain text, kept exactly as typed)."""
    if not (text or "").strip():
        raise CaseError("Enter the note", field="text")
    if len(text) > MAX_NOTE:
        raise CaseError(f"A note must be {MAX_NOTE:,} characters or fewer", field="text")
    note = CaseNote(case=case, author_id=actor.id, text=text)
    db.session.add(note)
    touch(case, actor)
    audit.record(actor, "add-note", "case", case.reference)
    return note


def create_case(caller: Contact, title: str, actor: User, **values) -> Case:
    """Open a case for a caller; owner and team default to the handler's."""
    case = Case(caller=caller, title=title, beneficiary=values.pop("beneficiary", caller),
                owner_id=values.pop("owner_id", actor.id),
                team_id=values.pop("team_id", actor.default_team_id),
                created_by_id=actor.id, **values)
    db.session.add(case)
    db.session.flush()
    caller.last_case_at = case.created_at
    audit.record(actor, "create", "case", case.reference,
                 changes={"Case Title": (None, title), "Caller": (None, caller.full_name)})
    return case


def latest_open_case(contact: Contact) -> Case | None:
    """The contact's most recent open case as caller."""
    return db.session.scalar(
        select(Case).where(Case.caller_id == contact.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(1))


def mark_ready_for_review(case: Case, actor: User) -> None:
    """Put the case in front of the data team."""
    if case.status != "Ready for review":
        audit.record(actor, "update", "case", case.reference,
                     changes={"Status": (case.status, "Ready for review")})
        case.status = "Ready for review"


def note_contact_change(contact: Contact, text: str, actor: User) -> Case:
    """Add a contact-details change as a note on the latest open case (or a new one),
    marked Ready for review, as the FAQ asks handlers to do."""
    case = latest_open_case(contact) or create_case(contact, "Contact details updated", actor)
    add_note(case, text, actor)
    mark_ready_for_review(case, actor)
    return case


def cases_for_contact(contact: Contact) -> list[Case]:
    """Caller Cases, newest first (as caller or beneficiary)."""
    return list(db.session.scalars(
        select(Case).where((Case.caller_id == contact.id) | (Case.beneficiary_id == contact.id))
        .order_by(Case.created_at.desc(), Case.id.desc())))
