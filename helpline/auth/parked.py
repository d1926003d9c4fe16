"""What a form held when its post met an ended session, kept to be sent again.

With JavaScript on, session.js keeps drafts in the tab and offers them back. Without it, a
volunteer who presses Save after the idle timeout would lose what they typed: the post is
refused before any view runs. Instead the fields (never a CSRF token or a password) are
parked for the user whose session ended, for two hours; after signing in again as that
user, a page shows that they were kept and sends them again with one button.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db
from ..timeutil import utcnow

KEPT_FOR = timedelta(hours=2)
_NEVER_KEPT = ("csrf_token", "password")


class ParkedPost(Model):
    """One refused post's fields, for its user only, for a short time."""

    __tablename__ = "parked_posts"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    path: Mapped[str] = mapped_column(String(500))
    fields: Mapped[str] = mapped_column(Text)  # JSON list of [name, value]
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


def park(user_id: int, path: str, form) -> str | None:
    """Keep a refused post's fields; returns the token to come back with (None: nothing)."""
    fields = [(name, value) for name, values in form.lists() for value in values
              if not any(word in name.lower() for word in _NEVER_KEPT)]
    if not any(value.strip() for _name, value in fields if isinstance(value, str)):
        return None
    db.session.execute(delete(ParkedPost).where(ParkedPost.at < utcnow() - KEPT_FOR))
    token = secrets.token_urlsafe(24)
    db.session.add(ParkedPost(token=token, user_id=user_id, path=path[:500],
                              fields=json.dumps(fields)))
    db.session.commit()
    return token


def take(token: str, user_id: int) -> tuple[str, list[tuple[str, str]]] | None:
    """The parked path and fields for this user (then forgotten), or None."""
    row = db.session.scalar(select(ParkedPost).where(
        ParkedPost.token == token[:64], ParkedPost.user_id == user_id,
        ParkedPost.at >= utcnow() - KEPT_FOR))
    if row is None:
        return None
    path, fields = row.path, [tuple(f) for f in json.loads(row.fields)]
    db.session.delete(row)
    return path, fields



