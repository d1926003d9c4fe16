"""Morning Review's own records: the flagged items still to look at, and who marked one
reviewed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import Model
from ..timeutil import utcnow


class ReviewMark(Model):
    """Morning Review: an item someone marked reviewed (hidden for everyone after)."""

    __tablename__ = "review_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_key: Mapped[str] = mapped_column(String(60), unique=True)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    reviewed_by: Mapped[User] = relationship()


class ReviewItem(Model):
    """A flagged item waiting for the Morning Review (written when it is flagged; stamped
    when marked reviewed), so the page and its badge read only what is still open, never
    every flagged call there ever was. The flag itself is checked again when shown."""

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_open", "grp", "reviewed_at", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_key: Mapped[str] = mapped_column(String(60), index=True)
    grp: Mapped[str] = mapped_column(String(20))  # the Morning Review group's slug
    record_id: Mapped[int] = mapped_column(Integer)  # the interaction or case
    user_id: Mapped[int | None] = mapped_column(Integer)  # "Assigned to you": whose
    flagged_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
