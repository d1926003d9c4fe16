"""The PBX's events (Zammad's generic CTI API): newCall, answer, hangup.

Every event is checked before anything is written: a malformed one is refused with a 4xx
(BadEvent) and records nothing. A repeated event (same callId and event) changes nothing
and never pops a panel twice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import func, or_, select, update

from .. import audit
from ..auth.models import Team, User, UserSession
from ..contacts import postcodes
from ..contacts.models import Contact
from ..extensions import db, rowcount
from ..notifications.services import notify
from ..timeutil import utcnow
from . import links
from .models import Call

EVENTS = ("newCall", "answer", "hangup")
WITHHELD = {"", "anonymous", "withheld", "unknown", "private", "restricted", "unavailable"}
MAX_REF = 250
MAX_KEY = 20  # the call log's number_key column (longer keys match no contact anyway)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # NUL and friends: PostgreSQL refuses NUL in text
SIGNED_IN_WITHIN = timedelta(minutes=30)


class BadEvent(Exception):
    """A request the endpoint refuses: its status code and a message for the PBX's log."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Event:
    """One checked event."""

    event: str
    call_ref: str
    direction: str
    from_number: str
    to_number: str
    users: list[str] = field(default_factory=list)
    answering: str | None = None
    queue: str | None = None
    cause: str | None = None


def _text(payload: Mapping[str, Any], name: str, limit: int = 200) -> str:
    value = payload.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadEvent(f"'{name}' must be text")
    text = CONTROL.sub("", str(value)).strip()
    if len(text) > limit:
        raise BadEvent(f"'{name}' is longer than {limit} characters")
    return text


def _users(payload: Mapping[str, Any]) -> list[str]:
    raw = payload.get("user[]", payload.get("user"))
    values = raw if isinstance(raw, list) else [raw] if raw else []
    if any(not isinstance(v, str) for v in values):
        raise BadEvent("'user[]' must be names")
    clean = [CONTROL.sub("", v).strip()[:120] for v in values]
    return [v for v in clean if v][:50]


def parse(payload: Mapping[str, Any]) -> Event:
    """Check an event's fields; raise BadEvent (400) with what is wrong."""
    name = _text(payload, "event", 20)
    if name not in EVENTS:
        raise BadEvent("'event' must be newCall, answer or hangup")
    ref = _text(payload, "callId", MAX_REF)
    if not ref:
        raise BadEvent("'callId' is required")
    direction = _text(payload, "direction", 3) or "in"
    if direction not in ("in", "out"):
        raise BadEvent("'direction' must be in or out")
    return Event(event=name, call_ref=ref, direction=direction,
                 from_number=_text(payload, "from", 40), to_number=_text(payload, "to", 40),
                 users=_users(payload), answering=_text(payload, "answeringNumber", 120) or None,
                 queue=_text(payload, "queue", 100) or None,
                 cause=_text(payload, "cause", 40) or None)


def normalise(raw: str) -> tuple[bool, str | None, str | None]:
    """(withheld, display, key) of a number as any PBX writes it: 07700 900123,
    +447700900123, 447700900123, 0044…; "anonymous" and friends are withheld."""
    if raw.strip().lower() in WITHHELD or not re.search(r"\d", raw):
        return True, None, None
    parsed = postcodes.parse_phone(raw)
    digits = re.sub(r"\D", "", raw)
    if (parsed is None or parsed.country_code == 44 and not raw.strip().startswith(("0", "+"))) \
            and digits[:1] not in ("", "0"):
        parsed = postcodes.parse_phone("+" + digits) or parsed  # 4477… without its plus
    if parsed is None:
        return False, raw.strip()[:40], _key(postcodes.phone_key(raw))
    e164 = postcodes.phonenumbers.format_number(parsed, postcodes.phonenumbers.PhoneNumberFormat.E164)
    return False, postcodes.format_phone(parsed)[:40], _key(postcodes.phone_key(e164))


def _key(key: str | None) -> str | None:
    """A key too long to be anyone's number is kept as no key (the number itself stays)."""
    return key if key and len(key) <= MAX_KEY else None


def matching_contacts(key: str | None) -> list[Contact]:
    """Active, not erased contacts whose phone is this number (however it was typed)."""
    if not key:
        return []
    return list(db.session.scalars(select(Contact).where(
        Contact.phone_key == key, Contact.active.is_(True), Contact.anonymised_at.is_(None))
        .order_by(Contact.id).limit(20)))


def _named_users(ev: Event) -> list[User]:
    """Users named by user[] (their name) or answeringNumber (extension, email or name)."""
    keys = [u.lower() for u in ev.users] + ([ev.answering.lower()] if ev.answering else [])
    if not keys:
        return []
    return list(db.session.scalars(select(User).where(User.active.is_(True), or_(
        func.lower(User.name).in_(keys), func.lower(User.email).in_(keys),
        func.lower(User.phone_login).in_(keys)))))


def ringing_for(ev: Event, now: datetime) -> list[User]:
    """Who the call rings for: the named users; else the queue's team (a team of that
    name); else every staff member signed in now."""
    named = _named_users(ev)
    if named:
        return named
    team = db.session.scalar(select(Team).where(func.lower(Team.name) == ev.queue.lower())) \
        if ev.queue else None
    if team is not None:
        return [m for m in team.members if m.active]
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.id.in_(
        select(UserSession.user_id).where(UserSession.ended_at.is_(None),
                                          UserSession.pending.is_(None),
                                          UserSession.last_seen_at >= now - SIGNED_IN_WITHIN)))))


def _ping(users: list[User], body: str) -> None:
    """Wake the users' open pages; the panel is read from the call log (nothing personal
    in the stored notification, so erasure has nothing to find there)."""
    for row in notify(users, "Phone call", body, kind="call"):
        row.read_at = row.created_at = utcnow()  # no unread count: the panel is the message


def handle(ev: Event, now: datetime | None = None) -> tuple[int, str]:
    """Apply one event; returns (status, message). Never commits."""
    now = now or utcnow()
    # locked (PostgreSQL): a burst of the same answer or hangup is applied once
    call = db.session.scalar(select(Call).where(Call.call_ref == ev.call_ref)
                             .with_for_update())
    if ev.event == "newCall":
        if call is not None:
            if not _same_call(call, ev):
                raise BadEvent(f"callId {ev.call_ref[:60]} is already another call's", 409)
            return 200, "duplicate newCall ignored"
        return 201, _new_call(ev, now)
    if call is None:
        raise BadEvent(f"unknown callId {ev.call_ref[:60]}", 404)
    if call.ended_at is not None:
        return 200, f"duplicate {ev.event} ignored (call already ended)"
    if ev.event == "answer":
        return 200, _answer(call, ev, now)
    return 200, _hangup(call, ev, now)


def _same_call(call: Call, ev: Event) -> bool:
    """A repeated newCall names the same number the same way (an erased call: can't tell)."""
    if call.erased_at is not None:
        return True
    withheld, _display, key = normalise(ev.from_number if ev.direction == "in"
                                        else ev.to_number)
    if call.direction != ev.direction or call.withheld != withheld:
        return False
    return withheld or (call.number_key == key if key or call.number_key else
                        call.number == (ev.from_number if ev.direction == "in"
                                        else ev.to_number))


def _new_call(ev: Event, now: datetime) -> str:
    raw = ev.from_number if ev.direction == "in" else ev.to_number
    withheld, display, key = normalise(raw)
    call = Call(call_ref=ev.call_ref, direction=ev.direction, number=None if withheld else raw,
                number_display=display, number_key=key, withheld=withheld,
                to_number=ev.to_number if ev.direction == "in" else ev.from_number,
                queue=ev.queue, started_at=now)
    call.contacts = matching_contacts(key)
    db.session.add(call)
    db.session.flush()
    if ev.direction == "in":
        call.ringing = ringing_for(ev, now)
        _ping(call.ringing, "Incoming call")
    # the number stays out of the audit trail (it lives on the call, under erasure and
    # retention): the entry says which call, which way, and whether it was withheld
    audit.record(None, "create", "call", call.id, changes={
        "Direction": (None, ev.direction), "Withheld": (None, withheld)})
    return f"call {call.id} recorded, ringing for {len(call.ringing)}"


def _claim(call: Call, column, now: datetime) -> bool:
    """Set answered_at / ended_at only if still empty: of a burst of the same event, one
    wins (the others wait for its write lock, then find it set)."""
    won = rowcount(db.session.execute(update(Call).where(Call.id == call.id, column.is_(None))
                                      .values({column: now})
                                      .execution_options(synchronize_session=False)))
    db.session.refresh(call)
    return won == 1


def _answer(call: Call, ev: Event, now: datetime) -> str:
    if call.answered_at is not None or not _claim(call, Call.answered_at, now):
        return "duplicate answer ignored"
    named = _named_users(ev)
    answerer = named[0] if named else None
    call.answered_by = answerer
    _ping(list({u.id: u for u in list(call.ringing) + named}.values()), "Answered")
    audit.record(None, "answer", "call", call.id,
                 changes={"Answered by": (None, answerer.name if answerer else "(not known)")})
    return f"call {call.id} answered"


def _hangup(call: Call, ev: Event, now: datetime) -> str:
    if not _claim(call, Call.ended_at, now):
        return "duplicate hangup ignored"
    call.cause = ev.cause
    start = call.answered_at or call.started_at
    call.duration_seconds = max(0, int((now - start).total_seconds())) if call.answered_at else 0
    # the panel: closed on the ringing pages of a missed call, updated for the answerer
    _ping(list({u.id: u for u in ([call.answered_by] if call.answered_by else [])
                + ([] if call.answered_at else list(call.ringing))}.values()), "Ended")
    audit.record(None, "hangup", "call", call.id, changes={
        "Cause": (None, ev.cause), "Duration (s)": (None, call.duration_seconds)})
    links.apply_to_interaction(call)
    return f"call {call.id} ended"
