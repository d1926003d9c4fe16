"""The call log: one row per PBX call (callId), who it rang for and whom it matched."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..contacts.models import Contact
from ..extensions import Model, db
from ..timeutil import utcnow

# who a call rang for (its panel shows on their open pages until answered or ended)
call_ringing = Table(
    "telephony_call_users", db.metadata,
    Column("call_id", Integer, ForeignKey("telephony_calls.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)
# the contacts whose phone matched the number: erasure finds a person's calls by these keys
call_contacts = Table(
    "telephony_call_contacts", db.metadata,
    Column("call_id", Integer, ForeignKey("telephony_calls.id", ondelete="CASCADE"),
           primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)


class Call(Model):
    """One call the PBX told us about (newCall → answer → hangup)."""

    __tablename__ = "telephony_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_ref: Mapped[str] = mapped_column(String(250), unique=True)  # the PBX's callId
    direction: Mapped[str] = mapped_column(String(3), default="in")  # in | out
    number: Mapped[str | None] = mapped_column(String(40))  # as the PBX sent it; None: withheld
    number_display: Mapped[str | None] = mapped_column(String(40))  # 07700 900123
    number_key: Mapped[str | None] = mapped_column(String(20), index=True)  # contacts' phone_key
    withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    to_number: Mapped[str | None] = mapped_column(String(40))
    queue: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    cause: Mapped[str | None] = mapped_column(String(40))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"))
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False)  # by the answerer
    called_back: Mapped[str | None] = mapped_column(String(60))  # "call back 12", "request 3"
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)

    answered_by: Mapped[User | None] = relationship()
    ringing: Mapped[list[User]] = relationship(secondary=call_ringing)
    contacts: Mapped[list[Contact]] = relationship(secondary=call_contacts)

    @property
    def missed(self) -> bool:
        """Ended without anyone answering."""
        return self.ended_at is not None and self.answered_at is None

    @property
    def shown_number(self) -> str:
        return "Withheld number" if self.withheld else (self.number_display or self.number or "")
