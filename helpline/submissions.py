"""Once-only form submissions: a double click or a resent POST creates one record, not two.

Each create form carries a random `form_token`; the first POST that uses it records which
record it made (unique token), and a repeat is sent to that record instead.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import current_user
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import Model, db
from .timeutil import utcnow


class Submission(Model):
    """A form token already used, and the record it created."""

    __tablename__ = "submissions"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def new_token() -> str:
    """A token for a fresh form."""
    return secrets.token_urlsafe(24)


def _key(token: str, record_type: str) -> str:
    """The stored key: the token bound to the form's kind and the signed-in user, so a
    token reused on another kind of form, or by another user, never matches (or blocks) a
    record it did not make."""
    user_id = current_user.get_id() if current_user else None
    return hashlib.sha256(f"{record_type}|{user_id}|{token[:64]}".encode()).hexdigest()


def already(token: str | None, record_type: str) -> int | None:
    """The id created by an earlier use of this token, if any."""
    if not token:
        return None
    return db.session.scalar(select(Submission.record_id).where(
        Submission.token == _key(token, record_type)))


def remember(token: str | None, record_type: str, record_id: int) -> None:
    """Record the token with the new record (same transaction; a racing twin fails on commit)."""
    if token:
        db.session.add(Submission(token=_key(token, record_type), record_type=record_type,
                                  record_id=record_id))


def is_duplicate_error(exc: IntegrityError) -> bool:
    """Whether a commit failed because the same token was used at the same moment."""
    return "submissions" in str(exc.orig).lower() or "submissions" in str(exc).lower()


def commit_once(token: str | None, record_type: str) -> int | None:
    """Commit the new record. If a twin post with the same token committed a moment earlier
    (a double click), roll back and return the id of the twin's record instead."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        twin = already(token, record_type) if is_duplicate_error(exc) else None
        if twin is None:  # not our twin after all: never report a lost record as saved
            raise
        return twin
    return None
