"""Case rules: notes are append-only; changes after review go back to the data team."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import audit
from ..audit.models import AuditEntry
from ..auth.models import User
from ..contacts import signals as contact_signals
from ..contacts.models import Contact
from ..contacts.services import move_links
from ..extensions import db
from ..notifications.services import notify
from ..numbers import whole_number
from ..rules import RuleError
from ..timeutil import utcnow
from .models import (
    ACCEPTED,
    AWAITING_REVIEW,
    NOT_READY,
    OPEN_STATUSES,
    READY,
    WHO_REQUIRES,
    Case,
    CaseNote,
    Referral,
    Signpost,
)
from .rows import ReferralRow, SignpostRow, lookup_name
from .signals import owner_changed

MAX_NOTE = 10000


def touch(case: Case, actor: User) -> None:
    """Mark the case updated; a case the data team accepted goes back in front of them
    (desk work included: assign, acknowledge, resolve, close, notes, rows)."""
    case.updated_at = utcnow()
    if case.review_state == ACCEPTED or case.reviewed_at is not None:
        if not case.updated_since_review:
            case.updated_since_review = True
            audit.record(actor, "update", "case", case.reference,
                         changes={"Updated since review": (False, True)})
        if case.review_state == ACCEPTED:
            set_review_state(case, READY, actor, reason="Updated since review")
            _tell_data_team(case)


def _tell_data_team(case: Case) -> None:
    """The data team hears that an accepted case is back (their badge is pushed with it)."""
    team = db.session.scalars(select(User).where(User.role == "data",
                                                 User.active.is_(True))).all()
    # a path, not url_for: jobs and the CLI change cases outside a request too
    notify(team, f"Case {case.reference} changed after review",
           "It is back in Awaiting review.", f"/review/cases/{case.id}", kind="review")


def add_note(case: Case, text: str, actor: User) -> CaseNote:
    """Append a summary note (plain text, kept exactly as typed)."""
    if not (text or "").strip():
        raise RuleError("Enter the note", field="text")
    if len(text) > MAX_NOTE:
        raise RuleError(f"A note must be {MAX_NOTE:,} characters or fewer", field="text")
    note = CaseNote(case=case, author_id=actor.id, text=text)
    db.session.add(note)
    touch(case, actor)
    audit.record(actor, "add-note", "case", case.reference)
    return note


def change_owner(case: Case, owner_id: int | None, actor: User | None) -> bool:
    """Give the case to a new owner (every path goes through here): what belongs to the
    previous owner and follows the case (call backs, reminders) is moved by the domains that
    listen to `owner_changed`. Returns whether the owner changed. Never commits."""
    previous = case.owner_id
    if previous == owner_id:
        return False
    case.owner_id = owner_id
    db.session.flush()
    db.session.refresh(case)  # the owner relationship, for whoever listens
    owner_changed.send(case, previous_owner_id=previous, actor=actor)
    return True


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


def set_status(case: Case, status: str, actor: User, reason: str | None = None) -> None:
    """Change the service desk's status; the audit trail is the status history."""
    if case.status != status:
        audit.record(actor, "status", "case", case.reference, reason=reason,
                     changes={"Status": (case.status, status)})
        case.status = status
        touch(case, actor)


def set_review_state(case: Case, state: str, actor: User, reason: str | None = None) -> None:
    """Change the data team's review state (audited as "Review", apart from the status)."""
    if case.review_state != state:
        audit.record(actor, "review", "case", case.reference, reason=reason,
                     changes={"Review": (case.review_state, state)})
        case.review_state = state
        case.updated_at = utcnow()


def mark_ready_for_review(case: Case, actor: User) -> None:
    """Put the case in front of the data team."""
    set_review_state(case, READY, actor)


def note_contact_change(contact: Contact, text: str, actor: User) -> Case:
    """Add a contact-details change as a note on the latest open case (or a new one),
    marked Ready for review, as the FAQ asks handlers to do."""
    case = latest_open_case(contact) or create_case(contact, "Contact details updated", actor)
    add_note(case, text, actor)
    mark_ready_for_review(case, actor)
    return case


def case_history(case: Case, since=None, after=None,
                 field: str | tuple[str, ...] | None = None,
                 latest: int | None = None) -> list:
    """Audit entries of a case (looks, by anyone, excluded), oldest first: all of them, those at or after
    `since` / strictly after `after`, one field's, or only the `latest` few."""
    stmt = select(AuditEntry).where(AuditEntry.record_type == "case",
                                    AuditEntry.record_id == case.reference,
                                    AuditEntry.action.not_in(("view", "access-by-owner")))
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if after is not None:
        stmt = stmt.where(AuditEntry.at > after)
    if isinstance(field, tuple):
        stmt = stmt.where(AuditEntry.field.in_(field))
    elif field is not None:
        stmt = stmt.where(AuditEntry.field == field)
    if latest:
        return list(reversed(db.session.scalars(stmt.order_by(AuditEntry.id.desc())
                                                .limit(latest)).all()))
    return list(db.session.scalars(stmt.order_by(AuditEntry.id)))


def cases_for_contact(contact: Contact) -> list[Case]:
    """Caller Cases, newest first (as caller or beneficiary)."""
    return list(db.session.scalars(
        select(Case).where((Case.caller_id == contact.id) | (Case.beneficiary_id == contact.id))
        .order_by(Case.created_at.desc(), Case.id.desc())))


# --- saving the case screen ---------------------------------------------------



CASE_LABELS = {
    "title": "Case Title", "who_requires_support": "Who Requires Urgent Practical Support",
    "beneficiary_id": "Beneficiary", "beneficiary_consent": "Consent from Beneficiary",
    "psychosocial_support": "Psychosocial Support Given",
    "safeguarding_activated": "Safeguarding Activated",
    "safeguarding_reason": "Safeguarding Reason", "feedback_consent": "Feedback Consent",
}


@dataclass
class CaseInput:
    """What the case screen posts, already validated by the form and rows."""

    title: str
    who_requires_support: str
    beneficiary_id: int | None
    beneficiary_consent: bool | None
    psychosocial_support: bool
    safeguarding_activated: bool
    safeguarding_reason: str | None
    feedback_consent: bool | None
    ready_for_review: bool
    note: str | None
    signposts: list[SignpostRow]
    referrals: list[ReferralRow]


class ConflictError(Exception):
    """Someone else saved the case since this form was loaded."""


def check_version(case: Case, version: str | None) -> None:
    """Refuse a save based on a stale copy of the case."""
    number = whole_number(version)
    if number is not None and number != case.version:
        raise ConflictError(case.reference)


def _beneficiary(caller: Contact, data: CaseInput) -> Contact:
    if data.who_requires_support != WHO_REQUIRES[1]:
        return caller
    other = db.session.get(Contact, data.beneficiary_id) if data.beneficiary_id else None
    if other is None or not other.active:
        raise RuleError("Choose the beneficiary: search existing contacts or Quick Create one",
                        field="beneficiary_id")
    if other.id != caller.id and data.beneficiary_consent is None:
        raise RuleError("Record whether the beneficiary consents to the caller discussing "
                        "the case (Consent from Beneficiary)", field="beneficiary_consent")
    return other


def save_case(case: Case | None, caller: Contact, data: CaseInput, actor: User) -> Case:
    """Create or update a case from the screen: fields, rows, note, review flag; audited."""
    beneficiary = _beneficiary(caller, data)
    if case is None:
        case = create_case(caller, data.title, actor, beneficiary=beneficiary)
    values = {
        "title": data.title, "who_requires_support": data.who_requires_support,
        "beneficiary_id": beneficiary.id,
        "beneficiary_consent": data.beneficiary_consent if beneficiary.id != caller.id else None,
        "psychosocial_support": data.psychosocial_support,
        "safeguarding_activated": data.safeguarding_activated,
        "safeguarding_reason": (data.safeguarding_reason or None)
        if data.safeguarding_activated else None,
        "feedback_consent": data.feedback_consent,
    }
    changes = audit.diff(case, values)
    row_changes = _sync_signposts(case, data.signposts, actor) + \
        _sync_referrals(case, data.referrals, actor)
    if changes:
        audit.record(actor, "update", "case", case.reference,
                     changes={CASE_LABELS.get(k, k): v for k, v in changes.items()})
    if data.note and data.note.strip():
        add_note(case, data.note, actor)
    elif changes or row_changes:
        touch(case, actor)
    if data.ready_for_review or case.updated_since_review:
        mark_ready_for_review(case, actor)
    elif case.review_state == READY:
        set_review_state(case, NOT_READY, actor)
    return case


def _sync_signposts(case: Case, rows: list[SignpostRow], actor: User) -> int:
    keep = {r.id for r in rows if r.id}
    n = 0
    for s in list(case.signposts):
        if s.id not in keep:
            case.signposts.remove(s)
            audit.record(actor, "remove-signpost", "case", case.reference,
                         changes={"Local Signpost": (s.category.name, None)})
            n += 1
    by_id = {s.id: s for s in case.signposts}
    for row in rows:
        # rows come validated (rows.validate_signposts refuses one without a category)
        assert row.category_id is not None
        if row.id in by_id:
            s = by_id[row.id]
            if s.category_id != row.category_id:
                audit.record(actor, "update", "case", case.reference, changes={
                    "Local Signpost": (lookup_name(s.category_id),
                                       lookup_name(row.category_id))})
                s.category_id = row.category_id
                n += 1
        elif row.id is None:
            case.signposts.append(Signpost(category_id=row.category_id, created_by_id=actor.id))
            audit.record(actor, "add-signpost", "case", case.reference,
                         changes={"Local Signpost": (None, lookup_name(row.category_id))})
            n += 1
    return n


def _referral_values(row: ReferralRow) -> dict:
    # status, local team and reason are the review's and the local team's, never the form's
    return {"response_type_id": row.response_type_id,
            "extra": {str(k): v.strip() for k, v in row.extra.items() if v and v.strip()}}


def _sync_referrals(case: Case, rows: list[ReferralRow], actor: User) -> int:
    keep = {r.id for r in rows if r.id}
    n = 0
    for r in list(case.referrals):
        if r.id not in keep and not r.locked:  # one sent stays: it is on record as sent
            case.referrals.remove(r)
            audit.record(actor, "remove-referral", "case", case.reference,
                         changes={"Local Referral": (r.response_type.name, None)})
            n += 1
    by_id = {r.id: r for r in case.referrals}
    for row in rows:
        values = _referral_values(row)
        if row.id in by_id:
            ref = by_id[row.id]
            changed = {} if ref.locked else audit.diff(ref, values)
            if changed:
                audit.record(actor, "update-referral", "case", case.reference, changes={
                    f"Local Referral {lookup_name(ref.response_type_id)} {k}": v
                    for k, v in changed.items()})
                n += 1
        elif row.id is None:
            case.referrals.append(Referral(created_by_id=actor.id, **values))
            audit.record(actor, "add-referral", "case", case.reference, changes={
                "Local Referral": (None, f"{lookup_name(row.response_type_id)} "
                                         f"({AWAITING_REVIEW})")})
            n += 1
    return n


@contact_signals.merging.connect
def _move_cases(loser: Contact, survivor: Contact, actor: User, ip: str | None, reason: str,
                **_kw) -> dict[str, int]:
    """A merge moves the loser's cases (as caller or beneficiary) to the survivor."""
    n = sum(move_links(Case, column, "case", label, loser, survivor, actor, ip, reason)
            for column, label in ((Case.caller_id, "Caller"), (Case.beneficiary_id, "Beneficiary")))
    return {"Cases moved": n}


@contact_signals.details_noted.connect
def _note_details(contact: Contact, text: str, actor: User, **_kw) -> str:
    """The contact page's change of name, phone, postcode or address, noted on a case."""
    return note_contact_change(contact, text, actor).reference
