"""Morning Review's own record: which flagged items someone has already looked at."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
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
