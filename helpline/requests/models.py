"""Call-back requests: the "small system" for callers not yet on the system."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Team, User
from ..cases.models import Case
from ..contacts.models import Contact
from ..extensions import db
from ..timeutil import utcnow

NATURES = ["New Application", "Existing Case", "Other"]
EXISTING_REASONS = ["Complaint", "MP", "High Profile", "Payment", "Vulnerable Person",
                    "Sensitive Case", "Case Enquiry"]
STATUSES = ["Awaiting Allocation", "Awaiting Calls", "Completed", "Unsuccessful"]
SUCCESS_RESULTS = ["Signposted to other options", "Application made", "Application not made",
                   "Contact made"]
MAX_ATTEMPTS = 3
NEXT_STEPS = ("We tried three times without reaching the caller. The request is closed: the "
              "caller must call the helpline again to make an application or get an update.")


class CallBackRequest(db.Model):
    """A request to call someone back, allocated by a team leader to a caseworker."""

    __tablename__ = "callback_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    contact_number: Mapped[str] = mapped_column(String(40))
    required_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    anytime: Mapped[bool] = mapped_column(Boolean, default=False)
    nature: Mapped[str] = mapped_column(String(30))
    existing_reason: Mapped[str | None] = mapped_column(String(30))
    notes: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default=STATUSES[0], index=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    allocated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    allocated_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_call_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(60))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    back_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime)  # erased (irreversible)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    team: Mapped[Team | None] = relationship()
    caseworker: Mapped[User | None] = relationship(foreign_keys=[caseworker_id])
    allocated_by: Mapped[User | None] = relationship(foreign_keys=[allocated_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    contact: Mapped[Contact | None] = relationship()
    case: Mapped[Case | None] = relationship()
    attempts: Mapped[list["CallAttempt"]] = relationship(
        back_populates="request", order_by="CallAttempt.number")

    @property
    def due_label(self) -> str:
        from ..timeutil import london_format
        return "Call Back Anytime" if self.anytime else london_format(self.required_at)

    @property
    def is_mp(self) -> bool:
        return self.existing_reason == "MP"


class CallAttempt(db.Model):
    """One of up to three attempts to call."""

    __tablename__ = "callback_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    made_at: Mapped[datetime] = mapped_column(DateTime)
    result: Mapped[str] = mapped_column(String(60))
    notes: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    request: Mapped[CallBackRequest] = relationship(back_populates="attempts")
    by: Mapped[User | None] = relationship()
