"""Notify users: store the notification, push a wake-up after the commit."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, select, update

from ..auth.models import Team, User
from ..events import TEAM_CHANNEL, USER_CHANNEL, publish_after_commit
from ..extensions import AnySession, db, rowcount
from ..timeutil import utcnow
from .models import Notification


def notify(users: Iterable[User], title: str, body: str | None = None,
           url: str | None = None, kind: str = "info") -> list[Notification]:
    """Store one notification per user and push it to their open pages after commit."""
    rows = [Notification(user_id=u.id, title=title, body=body, url=url, kind=kind)
            for u in users]
    db.session.add_all(rows)
    publish_after_commit(USER_CHANNEL.format(n.user_id) for n in rows)
    return rows


def notify_team(team: Team, title: str, body: str | None = None,
                url: str | None = None, kind: str = "info") -> list[Notification]:
    """Notify every active member of a team (stored per member, pushed on the team channel)."""
    members = [m for m in team.members if m.active]
    rows = [Notification(user_id=m.id, team_id=team.id, title=title, body=body, url=url,
                         kind=kind) for m in members]
    db.session.add_all(rows)
    publish_after_commit([TEAM_CHANNEL.format(team.id)])
    return rows


def unread_count(user: User, session: AnySession | None = None) -> int:
    """How many notifications the user has not read (the navigation badge, on pages and in
    the event stream, which reads with a session of its own)."""
    return (session or db.session).scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def recent(user: User, limit: int = 50) -> list[Notification]:
    """The user's newest notifications first."""
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id,
                                   Notification.kind != "call")  # phone calls: the panel
        .order_by(Notification.id.desc()).limit(limit)))


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user as read."""
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id,
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    return rowcount(result) or 0
