"""Call-back requests: the "small system" for callers not yet on the system."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Team, User
from ..cases.models import Case
from ..contacts.models import Contact
from ..extensions import Model
from ..lookups.models import LookupItem
from ..timeutil import london_format, utcnow

NATURES = ["New Application", "Existing Case", "Other"]
EXISTING_REASONS = ["Complaint", "MP", "High Profile", "Payment", "Vulnerable Person",
                    "Sensitive Case", "Case Enquiry"]
STATUSES = ["Awaiting Allocation", "Awaiting Calls", "Completed", "Unsuccessful"]
# Attempt limits per request type (None: as many as needed; step 33 of the procedure).
# REQUEST_ATTEMPT_LIMITS in the configuration overrides them.
ORDINARY, DOWNTIME = "ordinary", "downtime"
ATTEMPT_LIMITS: dict[str, int | None] = {ORDINARY: 3, DOWNTIME: None}
REQUEST_TYPES = {ORDINARY: "Call back request",
                 DOWNTIME: "Application taken during system downtime"}
OFFLINE_TEMPLATES = ["PP Applies GB", "RP Applies GB", "PP Applies NI", "RP Applies NI"]
CALL_AGAIN = ("The request is closed: the caller must call the helpline again to make an "
              "application or get an update.")
NEXT_STEPS = "We tried {n} times without reaching the caller. " + CALL_AGAIN
STOPPED_STEPS = "Calling was stopped: {reason}. " + CALL_AGAIN
DOWNTIME_STEPS = ("Calling has ended without reaching the caller{why}. Issue clerical letters "
                  "CMSL0077 and CMSL0080: the client has 14 days to pay their application fees.")


class CallBackRequest(Model):
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
    downtime: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offline_template: Mapped[str | None] = mapped_column(String(40))
    stopped_reason: Mapped[str | None] = mapped_column(Text)
    # the completed paper form (stored under ATTACHMENT_DIR, never under static/)
    attachment_key: Mapped[str | None] = mapped_column(String(64))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(40))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    attachment_at: Mapped[datetime | None] = mapped_column(DateTime)

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
        return "Call Back Anytime" if self.anytime else london_format(self.required_at)

    @property
    def is_mp(self) -> bool:
        return self.existing_reason == "MP"

    @property
    def request_type(self) -> str:
        return DOWNTIME if self.downtime else ORDINARY

    @property
    def type_label(self) -> str:
        return REQUEST_TYPES[self.request_type]


class CallAttempt(Model):
    """One attempt to call (up to the request type's limit)."""

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


UNIQUE_SENT, UNIQUE_DONE = "Sent", "Done"


class UniqueCallBack(Model):
    """A Functionally Unique call back: the proforma sent to a specialist team, tracked on
    the case until that team has done it."""

    __tablename__ = "unique_callbacks"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("lookup_items.id"))
    sent_to: Mapped[str] = mapped_column(String(254))
    contact_number: Mapped[str] = mapped_column(String(40))
    time_preferences: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=UNIQUE_SENT, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    team: Mapped[LookupItem] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
