"""Call backs: reminders to phone someone, attached to a case, with an alarm."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Team, User
from ..cases.models import Case
from ..extensions import Model
from ..timeutil import utcnow

OPEN = ["Open", "Pending assignment"]
CLOSING = ["Done", "Cancelled", "Not required", "Suppressed", "Send for translation",
           "Unsuccessful"]
SNOOZE_STEPS = list(range(15, 121, 15))
SNOOZE_CAP = 120
# reminder_state: armed → showing → (snoozed → showing …) → dismissed | closed
ARMED, SHOWING, SNOOZED, DISMISSED, CLOSED = "armed", "showing", "snoozed", "dismissed", "closed"


class CallBack(Model):
    """A call back (formal, or an informal reminder set weeks ahead)."""

    __tablename__ = "call_backs"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id"),
                                                   index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    follows_case_owner: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(30), default="Open", index=True)
    contact_number: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    call_received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    preferred_at: Mapped[datetime | None] = mapped_column(DateTime)
    alarm: Mapped[bool] = mapped_column(Boolean, default=True)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    informal: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_state: Mapped[str] = mapped_column(String(12), default=ARMED)
    remind_at: Mapped[datetime | None] = mapped_column(DateTime)
    snooze_total: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case | None] = relationship()
    request = relationship("CallBackRequest")

    @property
    def subject(self) -> str:
        """What the reminder names: the case reference, or the call-back request."""
        if self.case is not None:
            return self.case.reference
        if self.request is not None:
            return f"Call-back request {self.request_id} ({self.request.full_name})"
        return f"Call back {self.id}"

    @property
    def person(self) -> str:
        if self.case is not None:
            return self.case.caller.full_name
        return self.request.full_name if self.request is not None else ""
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    __table_args__ = (Index("ix_call_backs_due", "reminder_state", "remind_at"),)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def snooze_left(self) -> int:
        return max(0, SNOOZE_CAP - self.snooze_total)


class CaseViewGrant(Model):
    """View-only hand-over: a team leader lets a caseworker see a case (and change nothing
    but the one call back) without owning it. Ends when the call back closes or moves on."""

    __tablename__ = "case_view_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("call_backs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(String(200))

    case: Mapped[Case] = relationship()
    callback: Mapped[CallBack] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])

    __table_args__ = (Index("ix_case_view_grants_live", "user_id", "case_id", "ended_at"),)

    @property
    def active(self) -> bool:
        return self.ended_at is None
