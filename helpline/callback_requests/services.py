"""Call-back request rules: save (team leaders and MP mails), allocate, attempts, link."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from flask import current_app, has_app_context, url_for
from sqlalchemy import func, or_, select, true

from .. import audit
from ..auth.models import Team, User
from ..callbacks import signals as callback_signals
from ..callbacks.models import ARMED, CLOSED, OPEN, CallBack
from ..cases import services as case_services
from ..contacts import signals as contact_signals
from ..contacts.models import Contact
from ..contacts.services import move_links
from ..extensions import db
from ..lookups.models import LookupItem
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..notifications.services import notify
from ..rules import RuleError
from ..timeutil import london_format, utcnow
from .models import (
    ATTEMPT_LIMITS,
    DOWNTIME_STEPS,
    NEXT_STEPS,
    STATUSES,
    STOPPED_STEPS,
    CallAttempt,
    CallBackRequest,
)

PROMPT_BEFORE = timedelta(minutes=15)




def team_leaders(team: Team | None) -> list[User]:
    """Supervisors of the receiving team (every supervisor if it has none)."""
    leaders = team.supervisors if team else []
    return leaders or list(db.session.scalars(select(User).where(
        User.role == "supervisor", User.active.is_(True))))


def attempt_limit(req: CallBackRequest) -> int | None:
    """How many attempts the request's type allows (None: as many as needed)."""
    limits = dict(ATTEMPT_LIMITS)
    if has_app_context():
        limits.update(current_app.config.get("REQUEST_ATTEMPT_LIMITS") or {})
    return limits.get(req.request_type)


def may_see(req: CallBackRequest, user: User) -> bool:
    """Team leaders and the data team see every request; others the ones they took, were
    allocated, or that their team receives."""
    if user.has_role("supervisor", "data"):
        return True
    if user.id in (req.created_by_id, req.caseworker_id) or req.team_id is None:
        return True
    return any(t.id == req.team_id for t in user.teams)


def visible_to(user: User):
    """The SQL condition matching the requests `user` may see (see may_see)."""
    if user.has_role("supervisor", "data"):
        return true()
    return or_(CallBackRequest.created_by_id == user.id, CallBackRequest.caseworker_id == user.id,
               CallBackRequest.team_id.is_(None),
               CallBackRequest.team_id.in_([t.id for t in user.teams]))


def may_record(req: CallBackRequest, user: User) -> bool:
    """Only the allocated caseworker, or a team leader, records attempts."""
    return user.id == req.caseworker_id or user.has_role("supervisor")


def caseworkers(req: CallBackRequest) -> list[tuple[User, bool]]:
    """Active staff to allocate to: the receiving team's caseworkers first, then others.
    Each comes with whether they are in the receiving team."""
    users = list(db.session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(["volunteer", "supervisor", "admin"]))
        .order_by(User.name)))
    in_team = [u for u in users if req.team_id and any(t.id == req.team_id for t in u.teams)]
    return [(u, True) for u in in_team] + [(u, False) for u in users if u not in in_team]


def _details(req: CallBackRequest) -> str:
    lines = [f"Full Name: {req.full_name}", f"Contact Number: {req.contact_number}",
             f"Address: {req.address or ''}",
             f"Date of Birth: {req.date_of_birth.strftime('%d/%m/%Y') if req.date_of_birth else ''}",
             f"When Call Back Required: {req.due_label}",
             f"Nature of Enquiry: {req.nature}{' – ' + req.existing_reason if req.existing_reason else ''}",
             f"Notes: {req.notes or ''}"]
    if req.downtime:
        lines.insert(0, f"{req.type_label}: {req.offline_template or ''}")
    return "\n".join(lines)


def create_request(values: Mapping[str, Any], actor: User, base_url: str,
                   link_for: Callable[[CallBackRequest], str], mp_address: str) -> CallBackRequest:
    """Save a request; email the receiving team's leaders (and the MP address for MP calls)."""
    now = utcnow()
    if values.get("required_at") and values["required_at"] < now - timedelta(minutes=1) \
            and not values.get("back_entry"):
        raise RuleError("When Call Back Required is in the past. Choose a later time, "
                           "Call Back Anytime, or tick back-entry for a paper form",
                           field="required_at")
    req = CallBackRequest(**values, created_by_id=actor.id)
    db.session.add(req)
    db.session.flush()
    link = link_for(req)
    audit.record(actor, "create", "call-back request", req.id, changes={
        "Full Name": (None, req.full_name), "Status": (None, req.status),
        "Nature of Enquiry": (None, req.nature)})
    for leader in team_leaders(req.team):
        subject, body = render_mail("request_new", req=req, leader=leader,
                                    link=f"{base_url}{link}")
        queue_mail(leader.email, subject, body, key=f"cbr-new-{req.id}-{leader.id}")
        notify([leader], subject, req.due_label, link, kind="request")
    if req.is_mp:
        subject, body = render_mail("request_mp", req=req, link=f"{base_url}{link}")
        queue_mail(mp_address, subject, body, key=f"cbr-mp-{req.id}")
    return req


def allocate(req: CallBackRequest, caseworker: User | None, actor: User, base_url: str,
             link: str) -> None:
    """A team leader allocates to an active caseworker (email + live notification)."""
    if caseworker is None or not caseworker.active or not caseworker.has_role("volunteer",
                                                                              "supervisor"):
        raise RuleError("Choose an active caseworker", field="caseworker")
    if req.status not in STATUSES[:2]:
        raise RuleError(f"This request is already {req.status}", field="caseworker")
    before = req.caseworker.name if req.caseworker else None
    req.caseworker_id, req.allocated_by_id, req.allocated_at = caseworker.id, actor.id, utcnow()
    req.status = "Awaiting Calls"
    audit.record(actor, "allocate", "call-back request", req.id, changes={
        "New Applications Caseworker": (before, caseworker.name), "Status": (None, req.status)})
    subject, body = render_mail("request_allocated", req=req, caseworker=caseworker,
                                allocated_by=actor, link=f"{base_url}{link}")
    notify([caseworker], subject, req.due_label, link, kind="request")
    queue_mail(caseworker.email, subject, body,
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


def _result_item(result: str | None) -> LookupItem | None:
    if not result:
        return None
    return db.session.scalar(select(LookupItem).where(LookupItem.list_name == "call_result",
                                                      LookupItem.name == result,
                                                      LookupItem.retired.is_(False)))


def _check_open(req: CallBackRequest, actor: User, field: str) -> None:
    if not may_record(req, actor):
        who = req.caseworker.name if req.caseworker else "nobody yet"
        raise RuleError(f"Only the allocated caseworker ({who}) or a team leader can "
                           "record calls on this request. Nothing was saved.", field=field,
                           status=403)
    limit = attempt_limit(req)
    if limit is not None and len(req.attempts) >= limit:
        raise RuleError(f"A {req.type_label.lower()} allows {limit} attempts and "
                           f"{len(req.attempts)} have been made: no more attempts can be "
                           "recorded", field=field)
    if req.status != "Awaiting Calls":
        raise RuleError(f"This request is {req.status}: no more attempts can be recorded",
                           field=field)


def record_attempt(req: CallBackRequest, made_at: datetime | None, result: str | None,
                   notes: str | None, next_call_at: datetime | None, outcome: str | None,
                   actor: User) -> CallAttempt:
    """Record an attempt; a successful result closes with an outcome, the last attempt the
    request type allows closes the request as Unsuccessful."""
    _check_open(req, actor, "result")
    limit = attempt_limit(req)
    item = _result_item(result)
    if item is None:
        raise RuleError("Choose the Call Result", field="result")
    success = item.counts_as_success  # the flag an administrator sets, never the name
    if success and not outcome:
        raise RuleError("Choose the Call Back Outcome to complete the request",
                           field="outcome")
    number = len(req.attempts) + 1
    last = limit is not None and number >= limit
    if not success and not last and next_call_at is None:
        raise RuleError("Set the date and time of the next call (or Stop calling, with a "
                           "reason)", field="next_call_at")
    attempt = CallAttempt(request=req, number=number, made_at=made_at or utcnow(),
                          result=item.name, notes=(notes or "").strip() or None, by_id=actor.id)
    db.session.add(attempt)
    audit.record(actor, "attempt", "call-back request", req.id,
                 changes={f"Call {number} Result": (None, item.name)})
    if success:
        _close(req, "Completed", outcome, actor)
    elif last:
        _close(req, "Unsuccessful", None, actor)
    else:
        # neither closing nor the last attempt: a next call was required above
        assert next_call_at is not None
        req.next_call_at = next_call_at
        # the prompt is for the allocated caseworker, whoever recorded this attempt
        _prompt(req, next_call_at, req.caseworker or actor)
    return attempt


def stop_calling(req: CallBackRequest, reason: str | None, actor: User) -> None:
    """End the calls: continuing would unreasonably delay progress (step 33)."""
    _check_open(req, actor, "reason")
    reason = (reason or "").strip()
    if not reason:
        raise RuleError("Enter the reason for stopping the calls", field="reason")
    req.stopped_reason = reason
    audit.record(actor, "stop calling", "call-back request", req.id,
                 changes={"Reason for stopping": (None, reason)})
    _close(req, "Unsuccessful", None, actor)


def _close(req: CallBackRequest, status: str, outcome: str | None, actor: User) -> None:
    audit.record(actor, "close", "call-back request", req.id, changes={
        "Status": (req.status, status), "Call Back Outcome": (None, outcome)})
    req.status, req.outcome, req.closed_at, req.next_call_at = status, outcome, utcnow(), None
    # the prompt for the next call ends the way the request did
    cb_status = "Done" if status == "Completed" else "Unsuccessful"
    for cb in db.session.scalars(select(CallBack).where(CallBack.request_id == req.id,
                                                        CallBack.status.in_(OPEN))):
        cb.status, cb.reminder_state = cb_status, CLOSED


def needs_letters(req: CallBackRequest) -> bool:
    """A downtime application whose calls ended unsuccessfully: letters CMSL0077/0080."""
    return req.downtime and req.status == "Unsuccessful"


def next_steps(req: CallBackRequest) -> list[str]:
    """What happens next, once the request ended unsuccessfully."""
    if req.status != "Unsuccessful":
        return []
    reason = (req.stopped_reason or "").rstrip(".")
    if needs_letters(req):
        return [DOWNTIME_STEPS.format(why=f" (calling was stopped: {reason})" if reason else "")]
    if reason:
        return [STOPPED_STEPS.format(reason=reason)]
    return [NEXT_STEPS.format(n=len(req.attempts))]


def link_contact(req: CallBackRequest, contact: Contact, actor: User) -> None:
    """Link the request to an existing (or just created) contact."""
    audit.record(actor, "link", "call-back request", req.id,
                 changes={"Contact": (req.contact.full_name if req.contact else None,
                                      contact.full_name)})
    req.contact = contact


def make_case(req: CallBackRequest, actor: User):
    """Turn the request into a case for its contact, keeping its history as a note."""
    if req.contact is None:
        raise RuleError("Link the request to a contact first", field="contact")
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


@contact_signals.merging.connect
def _move_requests(loser: Contact, survivor: Contact, actor: User, ip: str | None,
                   reason: str, **_kw) -> dict[str, int]:
    """A merge moves the loser's call-back requests."""
    return {"Call-back requests moved": move_links(
        CallBackRequest, CallBackRequest.contact_id, "call-back request", "Contact", loser,
        survivor, actor, ip, reason)}


@contact_signals.new_contact_source.connect
def _request_as_source(request_id: int, user: User,
                       **_kw) -> contact_signals.ContactSource | None:
    """A new contact made from a call-back request: its name, number, address and date of
    birth fill the form, and the request is linked to the contact."""
    req = db.session.get(CallBackRequest, request_id)
    if req is None:
        return None
    first, _, last = (req.full_name or "").strip().partition(" ")
    return contact_signals.ContactSource(
        id=req.id, full_name=req.full_name, record_type="call-back request",
        prefill={"first_name": first, "last_name": last.strip(), "phone": req.contact_number,
                 "address": req.address, "date_of_birth": req.date_of_birth},
        link=lambda contact, actor: link_contact(req, contact, actor),
        url=url_for("requests.show", request_id=req.id), allowed=may_see(req, user))


@callback_signals.request_visible.connect
def _request_visible(cb: CallBack, user: User, **_kw) -> bool:
    """A call back raised for a request is seen by whoever may see the request."""
    req = db.session.get(CallBackRequest, cb.request_id) if cb.request_id else None
    return req is None or may_see(req, user)
