"""Interaction rules: create, assign handlers (each gets one email and a live notification)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth.models import User
from ..cases.models import Case
from ..contacts import signals as contact_signals
from ..contacts.models import Contact
from ..contacts.services import move_links
from ..extensions import AnySession, db
from ..lookups.models import LookupItem
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..notifications.services import notify
from ..rules import RuleError
from ..timeutil import london_format
from .models import Interaction, InteractionHandler

LABELS = {
    "fully_anonymous": "Fully Anonymous", "enquirer_id": "Enquirer",
    "enquirer_country": "Enquirer Country", "interaction_date": "Interaction Date",
    "method_id": "Interaction Method", "direction": "Direction", "call_state_id": "Call State",
    "duration_mins": "Duration (mins)", "case_id": "Case Reference",
    "out_of_remit": "Out Of Remit", "out_of_remit_reason_id": "Out of Remit Reason",
    "community": "Community", "covid_related": "COVID-19 Related", "notes": "Notes",
    "call_back_required": "Call Back Required",
}


def create_interaction(values: Mapping[str, Any], handlers: Iterable[User],
                       interventions: Iterable[LookupItem], actor: User,
                       link: str) -> Interaction:
    """Save a new interaction and assign its handlers (pinging everyone but the actor)."""
    interaction = Interaction(**values, created_by_id=actor.id)
    interaction.interventions = list(interventions)
    db.session.add(interaction)
    db.session.flush()
    audit.record(actor, "create", "interaction", interaction.reference,
                 changes={LABELS.get(k, k): (None, v) for k, v in values.items()
                          if v not in (None, "", False)})
    if interaction.interventions:
        audit.record(actor, "update", "interaction", interaction.reference, changes={
            "Emergency Interventions": (None, ", ".join(i.name for i in interaction.interventions))})
    add_handlers(interaction, handlers, actor, link)
    return interaction


NOT_YOURS = ("Only this interaction's handlers or a supervisor can {what} "
             "{ref}. Ask one of its handlers or a supervisor.")


def is_handler(interaction: Interaction, user: User) -> bool:
    """Whether `user` is one of the interaction's handlers."""
    return any(h.user_id == user.id for h in interaction.handlers)


def may_work_on(interaction: Interaction, user: User) -> bool:
    """Its handlers and supervisors finish it after the call and assign more handlers."""
    return is_handler(interaction, user) or user.has_role("supervisor")


def assign_more(interaction: Interaction, users: Iterable[User], actor: User,
                link: str) -> list[InteractionHandler]:
    """Re-assignment on a saved interaction: by its handlers and supervisors only."""
    if not may_work_on(interaction, actor):
        raise RuleError(NOT_YOURS.format(what="assign handlers to", ref=interaction.reference),
                        status=403)
    return add_handlers(interaction, users, actor, link)


def finish(interaction: Interaction, values: Mapping[str, Any],
           interventions: Iterable[LookupItem], actor: User) -> dict[str, tuple]:
    """After the call: set or change Call State, Duration, Out Of Remit (and its reason: a
    complaint) and the After-Call Emergency Interventions; each change audited."""
    if not may_work_on(interaction, actor):
        raise RuleError(NOT_YOURS.format(what="change", ref=interaction.reference), status=403)
    if values.get("out_of_remit") and not values.get("out_of_remit_reason_id"):
        raise RuleError("Choose the Out of Remit Reason (required when Out Of Remit)",
                        field="out_of_remit_reason_id")
    names = {"call_state_id": "call_state", "out_of_remit_reason_id": "out_of_remit_reason"}
    changes: dict[str, tuple] = {}
    for field, value in values.items():
        before = getattr(interaction, field)
        if before == value:
            continue
        shown = (before, value)
        if field in names:  # audit the names people chose, not ids
            item = db.session.get(LookupItem, value) if value else None
            old = getattr(interaction, names[field])
            shown = (old.name if old else None, item.name if item else None)
        setattr(interaction, field, value)
        changes[LABELS[field]] = shown
    chosen = list(interventions)
    before_names = ", ".join(i.name for i in interaction.interventions)
    after_names = ", ".join(i.name for i in sorted(chosen, key=lambda i: (i.position, i.name)))
    if before_names != after_names:
        interaction.interventions = chosen
        changes["After-Call Emergency Interventions"] = (before_names or None,
                                                         after_names or None)
    if changes:
        audit.record(actor, "update", "interaction", interaction.reference, changes=changes)
    return changes


def flagged_for_review(interaction: Interaction) -> bool:
    """Whether the call is in a Morning Review group (a complaint, an intervention, a call
    back required): what a morning reviewer opens."""
    return bool(interaction.is_complaint or interaction.interventions
                or interaction.call_back_required)


def _unfinished():
    """The WHERE of "still to finish": no Call State or no Duration yet (what the
    Interactions assigned to me page lists as still to finish, see still_to_finish)."""
    return or_(Interaction.call_state_id.is_(None), Interaction.duration_mins.is_(None))


def unfinished_count(session: AnySession, user: User) -> int:
    """Interactions `user` is a handler on that still need finishing: one COUNT, read
    from the user's own handler rows (an index) rather than from every call."""
    return session.scalar(
        select(func.count(InteractionHandler.id))
        .join(Interaction, InteractionHandler.interaction_id == Interaction.id)
        .where(InteractionHandler.user_id == user.id, _unfinished())) or 0


def assigned_to(user: User, page: int, per_page: int = 25):
    """The interactions `user` is a handler on, newest first, one page of them."""
    stmt = (select(Interaction).join(InteractionHandler,
                                     InteractionHandler.interaction_id == Interaction.id)
            .where(InteractionHandler.user_id == user.id)
            .order_by(InteractionHandler.assigned_at.desc(), Interaction.id.desc()))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)


def still_to_finish(interaction: Interaction) -> list[str]:
    """What a handler still has to fill in after the call."""
    missing = []
    if interaction.call_state_id is None:
        missing.append("Call State")
    if interaction.duration_mins is None:
        missing.append("Duration (mins)")
    return missing


def add_handlers(interaction: Interaction, users: Iterable[User], actor: User,
                 link: str) -> list[InteractionHandler]:
    """Assign handlers not already on it; each new one gets an email and a notification."""
    present = {h.user_id for h in interaction.handlers}
    added = []
    for user in users:
        if user.id in present:
            continue
        present.add(user.id)
        row = InteractionHandler(interaction=interaction, user_id=user.id,
                                 assigned_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        added.append(row)
        audit.record(actor, "assign", "interaction", interaction.reference,
                     changes={"Interaction Handler": (None, user.name)})
        if user.id != actor.id:
            _ping(interaction, user, actor, link, row.id)
    return added


def _ping(interaction: Interaction, user: User, actor: User, link: str, assignment_id: int):
    """One mail per handler per assignment (the key makes retries idempotent) + SSE."""
    summary = summary_line(interaction)
    subject, body = render_mail("interaction_assigned", interaction=interaction, handler=user,
                                assigned_by=actor, summary=summary, link=link)
    notify([user], subject, f"Assigned by {actor.name}. {summary}", link, kind="assignment")
    queue_mail(user.email, subject, body, key=f"interaction-assign-{assignment_id}")


def summary_line(interaction: Interaction) -> str:
    """A one-line summary for pings and lists."""
    parts = [london_format(interaction.interaction_date)]
    if interaction.method:
        parts.append(interaction.method.name)
    parts.append(interaction.direction)
    if interaction.enquirer:
        parts.append(f"Enquirer: {interaction.enquirer.full_name}")
    elif interaction.fully_anonymous:
        parts.append("Fully anonymous")
    if interaction.case:
        parts.append(f"Case {interaction.case.reference}")
    if interaction.is_complaint:
        parts.append("Complaint")
    return " · ".join(parts)


def case_label(case: Case) -> str:
    """Like the seed: CA45011 (Robert Livingstone, 28/01/2021)."""
    return f"{case.reference} ({case.caller.full_name}, {london_format(case.created_at, '%d/%m/%Y')})"


def find_case(ref: str | None) -> Case | None:
    """A case by its CA reference (or bare number)."""
    text = (ref or "").strip().split(" ")[0]
    case_id = Case.id_from_reference(text if text.upper().startswith("CA") else f"CA{text}")
    return db.session.get(Case, case_id) if case_id else None


def suggest_handlers(q: str, limit: int = 8) -> list[User]:
    """Best matches on first name, last name or login; name-prefix matches first."""
    q = (q or "").strip().lower()
    if len(q) < 2:
        return []
    q = q.replace("%", "").replace("_", "").replace("\\", "")
    if len(q) < 2:
        return []
    # SQLite's LIKE ignores ASCII case and its lower() changes ASCII letters only, so there
    # `lower(x) LIKE q` matches exactly what `x LIKE q` does, at a third of the cost;
    # PostgreSQL's LIKE is case-sensitive: lower() it is.
    if db.session.get_bind().dialect.name == "sqlite":
        name, login = User.name, User.email
    else:
        name, login = db.func.lower(User.name), db.func.lower(User.email)
    # word starts in the name, and the login's local part (not the shared mail domain);
    # ranked on (id, name, email) only, then the few shown loaded whole
    rows = db.session.execute(
        select(User.id, User.name, User.email).where(
            User.active.is_(True),
            or_(name.like(f"{q}%"), name.like(f"% {q}%"), name.like(f"%-{q}%"),
                name.like(f"({q}%"), login.like(f"{q}%"), login.like(f"%.{q}%@%")))
        .order_by(User.name).limit(200)).all()

    def rank(row) -> tuple:
        lowered = row.name.lower()
        words = lowered.replace("(", "").replace(")", "").split()
        return (0 if any(w.startswith(q) for w in words) else
                1 if row.email.lower().startswith(q) else 2, lowered)
    best = [row.id for row in sorted(rows, key=rank)[:limit]]
    if not best:
        return []
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(best)))}
    return [users[i] for i in best if i in users]


LIST_PER_PAGE = 25  # interactions a page on contact and case pages


def interactions_for(contact_id: int | None = None, case_id: int | None = None,
                     page: int = 1):
    """Interactions of a contact (as enquirer) or of a case, newest first, one page of
    them (a long history is paged, never loaded whole)."""
    stmt = select(Interaction).order_by(Interaction.interaction_date.desc(),
                                        Interaction.id.desc()).options(
        selectinload(Interaction.method),
        selectinload(Interaction.handlers).selectinload(InteractionHandler.user))
    if contact_id is not None:
        stmt = stmt.where(Interaction.enquirer_id == contact_id)
    if case_id is not None:
        stmt = stmt.where(Interaction.case_id == case_id)
    rows = db.paginate(stmt, page=page, per_page=LIST_PER_PAGE, error_out=False, count=True)
    if page > rows.pages > 0:  # past the end (a link kept from a longer list): the last page
        rows = db.paginate(stmt, page=rows.pages, per_page=LIST_PER_PAGE, error_out=False)
    return rows


@contact_signals.merging.connect
def _move_interactions(loser: Contact, survivor: Contact, actor: User, ip: str | None,
                       reason: str, **_kw) -> dict[str, int]:
    """A merge moves the interactions the loser was the Enquirer of."""
    return {"Interactions moved": move_links(Interaction, Interaction.enquirer_id,
                                             "interaction", "Enquirer", loser, survivor,
                                             actor, ip, reason)}
