"""Call-back rules: default times, allocation, reminders (exactly once), snooze, close, escalate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from .. import audit
from ..auth.models import User
from ..cases.models import Case
from ..cases.signals import owner_changed
from ..extensions import db, rowcount
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..notifications.services import notify
from ..notifications.signals import stream_frames
from ..rules import RuleError
from ..timeutil import london_format, to_london, utcnow
from .handover import end_grants
from .models import (
    ARMED,
    CLOSED,
    CLOSING,
    DISMISSED,
    OPEN,
    SHOWING,
    SNOOZE_CAP,
    SNOOZE_STEPS,
    SNOOZED,
    CallBack,
)

SLA = timedelta(hours=24)
LEAD = timedelta(minutes=30)
REMINDER_BEFORE = timedelta(minutes=5)




def default_times(received: datetime, preferred: datetime | None,
                  informal: bool = False) -> tuple[datetime, datetime]:
    """(Start, End) from the seed's three worked examples: End is the later of the call
    received + 24 hours and the time agreed with the caller; Start is 30 minutes before the
    agreed time, or 30 minutes before End when none was agreed. (An informal reminder set
    weeks ahead follows the same rule: its agreed time is the later one.)"""
    end = max(received + SLA, preferred) if preferred else received + SLA
    return (preferred - LEAD if preferred else end - LEAD), end


def resolve_times(received: datetime, preferred: datetime | None, start: datetime | None,
                  end: datetime | None, end_is_default: bool = False) -> tuple[datetime, datetime]:
    """The Start and End to save: what was typed, else the defaults. A Start typed beyond the
    default End (an informal reminder weeks ahead, typed with Start only) moves End to
    Start + 30 minutes; an End the handler typed themselves is kept (and checked)."""
    default_start, default_end = default_times(received, preferred)
    start = start or default_start
    if end is None or end_is_default:
        end = default_end
        if start >= end:
            end = start + LEAD
    return start, end


@dataclass
class CallBackInput:
    """Validated values from the call-back form."""

    contact_number: str
    description: str
    call_received_at: datetime
    preferred_at: datetime | None
    alarm: bool
    start_at: datetime
    end_at: datetime
    informal: bool
    back_entry: bool
    owner: str  # "me" | "case-owner" | "user"
    owner_user: User | None = None


def check_times(data: CallBackInput, new: bool, now: datetime | None = None) -> None:
    """End after Start; a new call back cannot be agreed for, or start, in the past unless
    back-entered."""
    now = now or utcnow()
    past = now - timedelta(minutes=1)
    if new and not data.back_entry and data.preferred_at and data.preferred_at < past:
        raise RuleError("The Preferred time agreed with the caller is in the past. Enter "
                            "a time still to come, or tick 'Back-entry' if you are recording a "
                            "call back from earlier", field="preferred_at")
    if data.end_at <= data.start_at:
        raise RuleError("End must be after Start", field="end_at")
    if new and not data.back_entry and data.start_at < past:
        raise RuleError("Start is in the past. Tick 'Back-entry' if you are recording a "
                            "call back from earlier", field="start_at")


def _arm(cb: CallBack) -> None:
    cb.reminder_state = ARMED if cb.alarm else DISMISSED
    cb.remind_at = cb.start_at - REMINDER_BEFORE if cb.alarm else None
    cb.snooze_total = 0


def create(case: Case, data: CallBackInput, actor: User) -> CallBack:
    """Raise a call back on a case and allocate it."""
    check_times(data, new=True)
    cb = CallBack(case=case, contact_number=data.contact_number, description=data.description,
                  call_received_at=data.call_received_at, preferred_at=data.preferred_at,
                  alarm=data.alarm, start_at=data.start_at, end_at=data.end_at,
                  informal=data.informal, created_by_id=actor.id,
                  follows_case_owner=data.owner == "case-owner")
    _arm(cb)
    if data.owner == "case-owner":
        cb.status = "Pending assignment"
    else:
        cb.owner_id = (data.owner_user or actor).id
    db.session.add(cb)
    db.session.flush()
    if cb.status != "Pending assignment":
        _tell_new_owner(cb, actor)
    audit.record(actor, "create", "call back", cb.id, changes={
        "Case": (None, case.reference), "Start": (None, london_format(cb.start_at)),
        "End": (None, london_format(cb.end_at)), "Status": (None, cb.status)})
    if cb.status == "Pending assignment":
        allocate(cb, actor)
    return cb


def open_callbacks(session, user_id: int) -> int:
    """How many open call backs a user owns (the navigation's "My call backs" count)."""
    return session.scalar(select(func.count(CallBack.id)).where(
        CallBack.owner_id == user_id, CallBack.status.in_(OPEN))) or 0


def on_shift(user: User, at: datetime) -> bool:
    """Whether `at` (UTC) falls in the shift hours of the user's default team (London time).

    A team without shift hours is always on; a shift may run past midnight (20:00–08:00)."""
    team = user.default_team
    if team is None or not team.shift_start or not team.shift_end:
        return True
    hhmm = to_london(at).strftime("%H:%M")
    if team.shift_start <= team.shift_end:
        return team.shift_start <= hhmm < team.shift_end
    return hhmm >= team.shift_start or hhmm < team.shift_end


def allocate(cb: CallBack, actor: User | None) -> None:
    """Work allocation: the case owner, or their team queue if the owner is inactive or off
    shift when the call back is due (its Start)."""
    case = cb.case
    assert case is not None  # only call backs on a case are allocated (create, move_with_case)
    owner = case.owner
    if owner is not None and owner.active and on_shift(owner, cb.start_at):
        cb.owner_id, cb.team_id = owner.id, None
        placed = owner.name
    else:
        cb.owner_id = None
        cb.team_id = (owner.default_team_id if owner else None) or case.team_id
        why = ("" if owner is None else
               " (owner inactive)" if not owner.active else " (owner off shift)")
        placed = f"team {cb.team_id}{why}"
    audit.record(actor, "allocate", "call back", cb.id, changes={
        "Status": ("Pending assignment", "Open"), "Owner": (None, placed)})
    cb.status = "Open"
    _tell_new_owner(cb, actor)


def _tell_new_owner(cb: CallBack, actor: User | None) -> None:
    """The new owner hears of it at once (their open pages' call-back count updates too)."""
    if cb.owner_id and (actor is None or cb.owner_id != actor.id):
        owner = db.session.get(User, cb.owner_id)
        assert owner is not None  # owner_id was just set from a loaded User's id
        notify([owner], f"Call back for you: {cb.subject}",
               f"Start {london_format(cb.start_at)} – End {london_format(cb.end_at)}",
               f"/callbacks/{cb.id}", kind="callback")


def move_with_case(case: Case, actor: User | None, previous_owner_id: int | None = None) -> int:
    """When a case changes owner, its open call backs that belong to the previous owner move
    with it, reminder state and all: those raised for "The case owner", the previous owner's
    "Myself" call backs and informal reminders. One given to another named caseworker stays.
    A reminder already showing pops up again for the new owner; the old owner's page drops it."""
    belongs: ColumnElement[bool] = CallBack.follows_case_owner.is_(True)
    if previous_owner_id is not None:
        belongs = or_(belongs, CallBack.owner_id == previous_owner_id)
    moved = 0
    for cb in db.session.scalars(select(CallBack).where(
            CallBack.case_id == case.id, CallBack.status.in_(OPEN), belongs)
            .order_by(CallBack.id)):
        if cb.owner_id == case.owner_id:
            continue
        before, before_id = (cb.owner.name if cb.owner else None), cb.owner_id
        was_showing = cb.reminder_state == SHOWING
        cb.follows_case_owner = True  # it now follows the case wherever it goes
        cb.status = "Pending assignment"
        allocate(cb, actor)
        if was_showing:  # the new owner gets the pop-up at the next poll, the old one not
            cb.reminder_state = ARMED
        db.session.flush()
        db.session.refresh(cb)  # the owner relationship after allocate() set owner_id
        audit.record(actor, "move", "call back", cb.id, reason=f"{case.reference} changed owner",
                     changes={"Owner": (before, cb.owner.name if cb.owner else None)})
        if before_id and before_id != cb.owner_id:
            _tell_old_owner(cb, before_id, case)
        end_grants(cb, actor, f"The call back moved with {case.reference}", keep_user=cb.owner_id)
        moved += 1
    return moved


def _tell_old_owner(cb: CallBack, user_id: int, case: Case) -> None:
    """The previous owner hears that it moved; their open pages drop its reminder."""
    old = db.session.get(User, user_id)
    assert old is not None  # user_id is the call back's owner_id of a moment ago
    who = cb.owner.name if cb.owner else (cb.team.name + " queue" if cb.team else "its team")
    notify([old], f"Call back on {cb.subject} moved to {who} with the case",
           f"Start {london_format(cb.start_at)} – End {london_format(cb.end_at)}",
           f"/callbacks/{cb.id}", kind="callback-moved")


def _on_owner_changed(case: Case, previous_owner_id: int | None = None,
                      actor: User | None = None, **_kw) -> None:
    move_with_case(case, actor, previous_owner_id)


owner_changed.connect(_on_owner_changed)


def reassign(cb: CallBack, user: User, actor: User, tell: bool = True) -> None:
    """Supervisors can move any call back (to a named caseworker: it stays with them)."""
    before = cb.owner.name if cb.owner else None
    cb.owner_id, cb.team_id, cb.follows_case_owner = user.id, None, False
    if cb.reminder_state == SHOWING:
        cb.reminder_state = ARMED
    audit.record(actor, "move", "call back", cb.id, changes={"Owner": (before, user.name)})
    end_grants(cb, actor, f"The call back moved to {user.name}", keep_user=user.id)
    if tell:
        _tell_new_owner(cb, actor)


def update_times(cb: CallBack, start_at: datetime, end_at: datetime, description: str,
                 actor: User) -> None:
    """Change times/description; a new End re-arms the alarm (as the procedure says)."""
    if end_at <= start_at:
        raise RuleError("End must be after Start", field="end_at")
    changes = audit.diff(cb, {"start_at": start_at, "end_at": end_at,
                              "description": description})
    if "end_at" in changes or "start_at" in changes:
        _arm(cb)
        cb.escalated_at = None
    audit.record(actor, "update", "call back", cb.id, changes={
        k: (london_format(b) if isinstance(b, datetime) else b,
            london_format(a) if isinstance(a, datetime) else a)
        for k, (b, a) in changes.items()})


def snooze(cb: CallBack, minutes: int, actor: User, now: datetime | None = None) -> None:
    """Snooze in 15-minute steps; at most 120 minutes in total."""
    if minutes not in SNOOZE_STEPS:
        raise RuleError("Choose a snooze of 15, 30, 45 … 120 minutes", field="minutes")
    if cb.snooze_total + minutes > SNOOZE_CAP:
        raise RuleError(f"You can snooze for at most {SNOOZE_CAP} minutes in total "
                            f"({cb.snooze_left} minutes left)", field="minutes")
    cb.snooze_total += minutes
    cb.reminder_state = SNOOZED
    cb.remind_at = (now or utcnow()) + timedelta(minutes=minutes)
    audit.record(actor, "snooze", "call back", cb.id, reason=f"{minutes} minutes")


def dismiss(cb: CallBack, actor: User) -> None:
    """Dismiss the reminder (the alarm stays; changing End re-arms it)."""
    cb.reminder_state = DISMISSED
    audit.record(actor, "dismiss", "call back", cb.id)


def close(cb: CallBack, status: str | None, actor: User) -> None:
    """Close with one of the closing statuses."""
    if status not in CLOSING:
        raise RuleError("Choose how the call back ended: " + ", ".join(CLOSING),
                            field="status")
    if not cb.is_open:
        raise RuleError(f"This call back is already {cb.status}", field="status")
    audit.record(actor, "close", "call back", cb.id, changes={"Status": (cb.status, status)})
    cb.status, cb.closed_at, cb.closed_by_id = status, utcnow(), actor.id
    cb.reminder_state = CLOSED
    end_grants(cb, actor, f"The call back was closed: {status}")


# --- the poller (worker) --------------------------------------------------------

def _recipients(cb: CallBack) -> list[User]:
    if cb.owner is not None:
        return [cb.owner]
    return [m for m in cb.team.members if m.active] if cb.team else []


def fire_due(now: datetime | None = None) -> int:
    """Push every reminder whose time has come, exactly once (a conditional UPDATE claims it,
    so several workers can run this concurrently)."""
    now = now or utcnow()
    due = list(db.session.execute(select(CallBack.id, CallBack.reminder_state, CallBack.remind_at)
                                  .where(CallBack.reminder_state.in_([ARMED, SNOOZED]),
                                         CallBack.remind_at <= now,
                                         CallBack.status.in_(OPEN))))
    fired = 0
    for cb_id, state, remind_at in due:
        claimed = rowcount(db.session.execute(
            update(CallBack).where(CallBack.id == cb_id, CallBack.reminder_state == state,
                                   CallBack.remind_at == remind_at)
            .values(reminder_state=SHOWING)))
        if claimed != 1:
            db.session.rollback()
            continue
        cb = db.session.get(CallBack, cb_id)
        assert cb is not None  # the row this transaction has just claimed
        notify(_recipients(cb), f"Call back due: {cb.subject}",
               f"{cb.contact_number} – {cb.description[:200]}", f"/callbacks/{cb.id}",
               kind="reminder")
        db.session.commit()
        fired += 1
    return fired


def escalate_overdue(base_url: str, now: datetime | None = None) -> int:
    """A call back still open at its End: notify the owner's supervisors (SSE + email), once."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(CallBack.id).where(
        CallBack.status.in_(OPEN), CallBack.end_at <= now, CallBack.escalated_at.is_(None))))
    done = 0
    for cb_id in ids:
        claimed = rowcount(db.session.execute(update(CallBack).where(
            CallBack.id == cb_id, CallBack.escalated_at.is_(None)).values(escalated_at=now)))
        if claimed != 1:
            db.session.rollback()
            continue
        cb = db.session.get(CallBack, cb_id)
        assert cb is not None  # the row this transaction has just claimed
        sups = supervisors_for(cb)
        title = f"Overdue call back on {cb.subject}"
        who = cb.owner.name if cb.owner else (cb.team.name if cb.team else "nobody")
        due = london_format(cb.end_at)
        body = f"Owner: {who}. Was due by {due}. {cb.description[:200]}"
        notify(sups, title, body, f"/callbacks/{cb.id}", kind="escalation")
        for s in sups:
            subject, text = render_mail("callback_overdue", call_back=cb, supervisor=s,
                                        owner=who, due=due,
                                        link=f"{base_url}/callbacks/{cb.id}")
            queue_mail(s.email, subject, text,
                       key=f"callback-overdue-{cb.id}-{s.id}-{cb.end_at:%Y%m%d%H%M}")
        audit.record(None, "escalate", "call back", cb.id, reason=title)
        db.session.commit()
        done += 1
    return done


def supervisors_for(cb: CallBack) -> list[User]:
    """Supervisors of the owner's (or queue's) team; every supervisor if there are none."""
    team = cb.team or (cb.owner.default_team if cb.owner else None)
    sups = team.supervisors if team else []
    if not sups:
        sups = list(db.session.scalars(select(User).where(User.role == "supervisor",
                                                          User.active.is_(True))))
    return sups


def showing_for(user: User) -> list[CallBack]:
    """Reminders to pop up on this user's pages now (survives reloads and reconnects)."""
    team_ids = [t.id for t in user.teams]
    return list(db.session.scalars(select(CallBack).where(
        CallBack.reminder_state == SHOWING, CallBack.status.in_(OPEN),
        or_(CallBack.owner_id == user.id,
            and_(CallBack.owner_id.is_(None), CallBack.team_id.in_(team_ids))))
        .order_by(CallBack.remind_at)))


def queue_for(user: User | None = None, team_id: int | None = None,
              overdue: bool = False) -> list[CallBack]:
    """Open call backs, due soonest first."""
    stmt = select(CallBack).where(CallBack.status.in_(OPEN))
    if user is not None:
        stmt = stmt.where(CallBack.owner_id == user.id)
    if team_id is not None:
        stmt = stmt.where(CallBack.team_id == team_id, CallBack.owner_id.is_(None))
    if overdue:
        stmt = stmt.where(CallBack.end_at <= utcnow())
    return list(db.session.scalars(stmt.order_by(CallBack.end_at, CallBack.id)))


@stream_frames.connect
def _my_call_backs_frame(app, session, user_id: int, **_kw) -> list[tuple[str, str]]:
    """The live "My call backs" badge, sent with each batch of the user's events."""
    template = app.jinja_env.get_template("callbacks/_count.html")
    return [("callbacks", template.render(count=open_callbacks(session, user_id)))]
