"""The case queues a handler works from (seed 003's HEAT lists): My cases, Assigned to me,
My team's cases (the Call Group), Sent back to me; and the data team's Awaiting review
count. Each is one WHERE clause, so a page lists it and the navigation counts it with one
COUNT query; the counts are pushed live with the user's events."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, false, func, select

from ..audit.models import AuditEntry
from ..auth.models import User, user_teams
from ..extensions import AnySession
from ..notifications.signals import stream_frames
from .models import OPEN_STATUSES, READY, SENT_BACK, Case


def _team_ids(user: User):
    return select(user_teams.c.team_id).where(user_teams.c.user_id == user.id).scalar_subquery()


def mine(session: AnySession, user: User) -> ColumnElement[bool]:
    """Open cases the user owns."""
    return (Case.owner_id == user.id) & Case.status.in_(OPEN_STATUSES)


def assigned(session: AnySession, user: User) -> ColumnElement[bool]:
    """Open cases assigned to the user."""
    return (Case.assignee_id == user.id) & Case.status.in_(OPEN_STATUSES)


def team(session: AnySession, user: User) -> ColumnElement[bool]:
    """Cases assigned to one of the user's teams that no one has taken on yet."""
    return (Case.status == "Assigned") & Case.assignee_id.is_(None) & \
        Case.team_id.in_(_team_ids(user))


def sent_back(session: AnySession, user: User) -> ColumnElement[bool]:
    """Cases the user owns that the data team sent back."""
    return (Case.owner_id == user.id) & (Case.review_state == SENT_BACK)


def awaiting_review(session: AnySession, user: User) -> ColumnElement[bool]:
    """Cases Ready for review, whatever their desk status (the data team's queue)."""
    return Case.review_state == READY if user.has_role("data") else false()


@dataclass(frozen=True)
class Queue:
    """One queue: its page's name, title, badge and WHERE clause."""

    name: str
    title: str
    where: Callable[[AnySession, User], ColumnElement[bool]]
    empty: str


QUEUES = {q.name: q for q in (
    Queue("mine", "My cases", mine, "You own no open cases."),
    Queue("assigned", "Assigned to me", assigned, "No open cases are assigned to you."),
    Queue("team", "My team's cases", team, "Nothing is waiting in your teams' queues."),
    Queue("sent-back", "Sent back to me", sent_back, "The data team has sent nothing back."),
)}


def count(session: AnySession, user: User, name: str) -> int | None:
    """One queue's size for the navigation (None: the queue is not the user's)."""
    if name == "awaiting-review":
        if not user.has_role("data"):
            return None
        return session.scalar(select(func.count(Case.id)).where(Case.review_state == READY)) or 0
    return session.scalar(select(func.count(Case.id)).where(
        QUEUES[name].where(session, user))) or 0


SORTS = {"case": Case.id, "title": Case.title, "status": Case.status,
         "review": Case.review_state, "created": Case.created_at, "updated": Case.updated_at}


@dataclass
class Filters:
    """What the queue page's GET form asks for (anything unreadable is ignored)."""

    status: str | None = None
    since: date | None = None
    until: date | None = None
    sort: str | None = None
    descending: bool = False


def query(session: AnySession, user: User, name: str, f: Filters):
    """The queue's cases, filtered and sorted (by default: safeguarding first, then the
    longest waiting: the most urgent at the top)."""
    stmt = select(Case).where(QUEUES[name].where(session, user))
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.since:
        stmt = stmt.where(Case.created_at >= datetime.combine(f.since, datetime.min.time()))
    if f.until:
        stmt = stmt.where(Case.created_at < datetime.combine(f.until + timedelta(days=1),
                                                             datetime.min.time()))
    if f.sort in SORTS:
        column = SORTS[f.sort]
        return stmt.order_by(column.desc() if f.descending else column, Case.id)
    return stmt.order_by(Case.safeguarding_activated.desc(), Case.created_at, Case.id)


def send_back_reasons(session: AnySession, cases: list[Case]) -> dict[int, str]:
    """The data team's latest send-back comment of each case (one query for the page)."""
    refs = {c.reference: c.id for c in cases}
    if not refs:
        return {}
    out: dict[int, str] = {}
    for ref, reason in session.execute(
            select(AuditEntry.record_id, AuditEntry.reason).where(
                AuditEntry.record_type == "case", AuditEntry.record_id.in_(refs),
                AuditEntry.field.in_(("Review", "Status")), AuditEntry.after == SENT_BACK)
            .order_by(AuditEntry.id)):
        out[refs[ref]] = reason or ""
    return out


BADGE_EVENTS = {"mine": "my-cases", "assigned": "assigned-to-me", "team": "team-cases",
                "sent-back": "sent-back", "awaiting-review": "awaiting-review"}


@stream_frames.connect
def _queue_frames(app, session, user_id: int, **_kw) -> list[tuple[str, str]]:
    """The live queue badges, sent with each batch of the user's events (assignments,
    team queue, send-backs and the data team's "back for review" come with one)."""
    user = session.get(User, user_id)
    if user is None:
        return []
    template = app.jinja_env.get_template("cases/_queue_count.html")
    frames = []
    for name, event in BADGE_EVENTS.items():
        n = count(session, user, name)
        if n is not None:
            frames.append((event, template.render(event=event, count=n)))
    return frames

