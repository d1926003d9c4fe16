"""Call-back request rules: save (team leaders and MP mails), allocate, attempts, link."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import func, select

from .. import audit
from ..auth.models import Team, User
from ..callbacks.models import ARMED, CLOSED, OPEN, CallBack
from ..cases import services as case_services
from ..contacts.models import Contact
from ..extensions import db
from ..mailer import queue_mail
from ..notifications.services import notify
from ..timeutil import london_format, utcnow
from .models import (MAX_ATTEMPTS, NEXT_STEPS, STATUSES, SUCCESS_RESULTS, CallAttempt,
                     CallBackRequest)

PROMPT_BEFORE = timedelta(minutes=15)


class RequestError(ValueError):
    """A rule was broken; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def team_leaders(team: Team | None) -> list[User]:
    """Supervisors of the receiving team (every supervisor if it has none)."""
    leaders = team.supervisors if team else []
    return leaders or list(db.session.scalars(select(User).where(
        User.role == "supervisor", User.active.is_(True))))


def _details(req: CallBackRequest) -> str:
    lines = [f"Full Name: {req.full_name}", f"Contact Number: {req.contact_number}",
             f"Address: {req.address or ''}",
             f"Date of Birth: {req.date_of_birth.strftime('%d/%m/%Y') if req.date_of_birth else ''}",
             f"When Call Back Required: {req.due_label}",
             f"Nature of Enquiry: {req.nature}{' – ' + req.existing_reason if req.existing_reason else ''}",
             f"Notes: {req.notes or ''}"]
    return "\n".join(lines)


def create_request(values: Mapping[str, Any], actor: User, base_url: str,
                   link_for: Callable[[CallBackRequest], str], mp_address: str) -> CallBackRequest:
    """Save a request; email the receiving team's leaders (and the MP address for MP calls)."""
    now = utcnow()
    if values.get("required_at") and values["required_at"] < now - timedelta(minutes=1) \
            and not values.get("back_entry"):
        raise RequestError("When Call Back Required is in the past. Choose a later time, "
                           "Call Back Anytime, or tick back-entry for a paper form",
                           field="required_at")
    req = CallBackRequest(**values, created_by_id=actor.id)
    db.session.add(req)
    db.session.flush()
    link = link_for(req)
    audit.record(actor, "create", "call-back request", req.id, changes={
        "Full Name": (None, req.full_name), "Status": (None, req.status),
        "Nature of Enquiry": (None, req.nature)})
    subject = f"New call-back request awaiting allocation: {req.full_name}"
    for leader in team_leaders(req.team):
        queue_mail(leader.email, subject, f"Dear {leader.name},\n\nA call-back request has been "
                   f"entered and is awaiting allocation.\n\n{_details(req)}\n\n"
                   f"Allocate it: {base_url}{link}\n", key=f"cbr-new-{req.id}-{leader.id}")
        notify([leader], subject, req.due_label, link, kind="request")
    if req.is_mp:
        queue_mail(mp_address, f"MP call-back request: {req.full_name}",
                   f"An MP enquiry call-back request was received.\n\n{_details(req)}\n\n"
                   f"{base_url}{link}\n", key=f"cbr-mp-{req.id}")
    return req


def allocate(req: CallBackRequest, caseworker: User | None, actor: User, base_url: str,
             link: str) -> None:
    """A team leader allocates to an active caseworker (email + live notification)."""
    if caseworker is None or not caseworker.active:
        raise RequestError("Choose an active caseworker", field="caseworker")
    if req.status not in STATUSES[:2]:
        raise RequestError(f"This request is already {req.status}", field="caseworker")
    before = req.caseworker.name if req.caseworker else None
    req.caseworker_id, req.allocated_by_id, req.allocated_at = caseworker.id, actor.id, utcnow()
    req.status = "Awaiting Calls"
    audit.record(actor, "allocate", "call-back request", req.id, changes={
        "New Applications Caseworker": (before, caseworker.name), "Status": (None, req.status)})
    subject = f"Call-back request allocated to you: {req.full_name}"
    notify([caseworker], subject, req.due_label, link, kind="request")
    queue_mail(caseworker.email, subject,
               f"Dear {caseworker.name},\n\n{actor.name} has allocated a call-back request to "
               f"you.\n\n{_details(req)}\n\nOpen it: {base_url}{link}\n",
               key=f"cbr-allocate-{req.id}-{caseworker.id}-{int(req.allocated_at.timestamp())}")
    if req.required_at and not req.anytime:
        _prompt(req, req.required_at, caseworker)


def _prompt(req: CallBackRequest, when: datetime, owner: User) -> None:
    """The reminder mechanism of call backs: a prompt 15 minutes before the next call."""
    for old in db.session.scalars(select(CallBack).where(CallBack.request_id == req.id,
                                                         CallBack.status.in_(OPEN))):
        old.status, old.reminder_state = "Not required", CLOSED
    db.session.add(CallBack(
        request_id=req.id, owner_id=owner.id, follows_case_owner=False,
        contact_number=req.contact_number, description=f"Call {req.full_name} back "
        f"(call-back request {req.id})", call_received_at=req.received_at, preferred_at=when,
        alarm=True, start_at=when - PROMPT_BEFORE, end_at=when + timedelta(hours=1),
        reminder_state=ARMED, remind_at=when - PROMPT_BEFORE, created_by_id=owner.id))


def record_attempt(req: CallBackRequest, made_at: datetime | None, result: str | None,
                   notes: str | None, next_call_at: datetime | None, outcome: str | None,
                   actor: User) -> CallAttempt:
    """Record one of up to three attempts; success closes with an outcome, the third
    unsuccessful attempt closes the request as Unsuccessful."""
    if req.status != "Awaiting Calls":
        raise RequestError(f"This request is {req.status}: no more attempts can be recorded",
                           field="result")
    if len(req.attempts) >= MAX_ATTEMPTS:
        raise RequestError("Three attempts have already been made", field="result")
    if not result:
        raise RequestError("Choose the Call Result", field="result")
    success = result in SUCCESS_RESULTS
    if success and not outcome:
        raise RequestError("Choose the Call Back Outcome to complete the request",
                           field="outcome")
    number = len(req.attempts) + 1
    if not success and number < MAX_ATTEMPTS and next_call_at is None:
        raise RequestError("Set the date and time of the next call", field="next_call_at")
    attempt = CallAttempt(request=req, number=number, made_at=made_at or utcnow(),
                          result=result, notes=(notes or "").strip() or None, by_id=actor.id)
    db.session.add(attempt)
    audit.record(actor, "attempt", "call-back request", req.id,
                 changes={f"Call {number} Result": (None, result)})
    if success:
        _close(req, "Completed", outcome, actor)
    elif number >= MAX_ATTEMPTS:
        _close(req, "Unsuccessful", None, actor)
    else:
        req.next_call_at = next_call_at
        _prompt(req, next_call_at, actor)
    return attempt


def _close(req: CallBackRequest, status: str, outcome: str | None, actor: User) -> None:
    audit.record(actor, "close", "call-back request", req.id, changes={
        "Status": (req.status, status), "Call Back Outcome": (None, outcome)})
    req.status, req.outcome, req.closed_at, req.next_call_at = status, outcome, utcnow(), None
    for cb in db.session.scalars(select(CallBack).where(CallBack.request_id == req.id,
                                                        CallBack.status.in_(OPEN))):
        cb.status, cb.reminder_state = "Done", CLOSED


def next_steps(req: CallBackRequest) -> str | None:
    """What the caller must do next, once the request ended unsuccessfully."""
    return NEXT_STEPS if req.status == "Unsuccessful" else None


def link_contact(req: CallBackRequest, contact: Contact, actor: User) -> None:
    """Link the request to an existing (or just created) contact."""
    audit.record(actor, "link", "call-back request", req.id,
                 changes={"Contact": (req.contact.full_name if req.contact else None,
                                      contact.full_name)})
    req.contact = contact


def make_case(req: CallBackRequest, actor: User):
    """Turn the request into a case for its contact, keeping its history as a note."""
    if req.contact is None:
        raise RequestError("Link the request to a contact first", field="contact")
    if req.case is not None:
        return req.case
    title = f"Call-back request: {req.nature}" + (f" – {req.existing_reason}"
                                                   if req.existing_reason else "")
    case = case_services.create_case(req.contact, title, actor)
    history = [f"From call-back request {req.id}, received {london_format(req.received_at)}.",
               _details(req)]
    history += [f"Call {a.number} ({london_format(a.made_at)}, {a.by or ''}): {a.result}"
                f"{' – ' + a.notes if a.notes else ''}" for a in req.attempts]
    if req.outcome:
        history.append(f"Call Back Outcome: {req.outcome}")
    case_services.add_note(case, "\n".join(history), actor)
    req.case_id = case.id
    audit.record(actor, "link", "call-back request", req.id, changes={"Case": (None, case.reference)})
    return case


def counts() -> dict[str, int]:
    """How many requests per status."""
    rows = db.session.execute(select(CallBackRequest.status, func.count(CallBackRequest.id))
                              .group_by(CallBackRequest.status))
    found = dict(rows.all())
    return {s: found.get(s, 0) for s in STATUSES}
