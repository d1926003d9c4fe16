"""Cases (CA…): the support requested or arranged for a contact, and their notes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Team, User
from ..contacts.models import Contact
from ..extensions import Model, db
from ..timeutil import utcnow

REFERENCE_OFFSET = 45000  # CA45001 is case 1, like the references handlers know
WHO_REQUIRES = ["The person who called", "Someone Else"]
# The service desk's status (seed 003, HEAT) and the data team's review state (seed 004) are
# two separate things: desk work never takes a case out of the data team's queue.
STATUSES = ["Open", "Assigned", "Acknowledged", "Solved", "Closed"]
OPEN_STATUSES = ["Open", "Assigned", "Acknowledged", "Solved"]
NOT_READY, READY, ACCEPTED, SENT_BACK = "Not ready", "Ready for review", "Accepted", "Sent back"
REVIEW_STATES = [NOT_READY, READY, ACCEPTED, SENT_BACK]


class Case(Model):
    """One case for a caller (and possibly another beneficiary)."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    caller_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    beneficiary_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    who_requires_support: Mapped[str] = mapped_column(String(40), default=WHO_REQUIRES[0])
    beneficiary_consent: Mapped[bool | None] = mapped_column(Boolean)
    psychosocial_support: Mapped[bool] = mapped_column(Boolean, default=False)
    safeguarding_activated: Mapped[bool] = mapped_column(Boolean, default=False)
    safeguarding_reason: Mapped[str | None] = mapped_column(Text)
    feedback_consent: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(30), default="Open", index=True)
    review_state: Mapped[str] = mapped_column(String(30), default=NOT_READY,
                                              server_default=NOT_READY, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_since_review: Mapped[bool] = mapped_column(Boolean, default=False)
    solution: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    export_batch_id: Mapped[int | None] = mapped_column(ForeignKey("export_batches.id"),
                                                        index=True)

    caller: Mapped[Contact] = relationship(foreign_keys=[caller_id])
    beneficiary: Mapped[Contact | None] = relationship(foreign_keys=[beneficiary_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    notes: Mapped[list["CaseNote"]] = relationship(
        back_populates="case", order_by="CaseNote.id.desc()")
    signposts: Mapped[list["Signpost"]] = relationship(
        order_by="Signpost.id", cascade="all, delete-orphan")
    referrals: Mapped[list["Referral"]] = relationship(
        order_by="Referral.id", cascade="all, delete-orphan")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": version}
    # Morning Review: safeguarding cases changed since a time (no full scan at 1M cases)
    __table_args__ = (Index("ix_cases_safeguarding_updated", "safeguarding_activated",
                            "updated_at"),)

    @property
    def reference(self) -> str:
        return f"CA{self.id + REFERENCE_OFFSET}"

    @staticmethod
    def id_from_reference(ref: str) -> int | None:
        """CA45011 → 11."""
        ref = (ref or "").strip().upper().removeprefix("CA")
        return int(ref) - REFERENCE_OFFSET if ref.isdigit() and int(ref) > REFERENCE_OFFSET else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class CaseNote(Model):
    """A summary note: append-only, never edited or deleted."""

    __tablename__ = "case_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class NoteIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a saved note."""


@event.listens_for(CaseNote, "before_update")
def _refuse_note_update(_mapper, _conn, target) -> None:
    raise NoteIsAppendOnly(f"Summary notes cannot be changed (note {target.id})")


@event.listens_for(CaseNote, "before_delete")
def _refuse_note_delete(_mapper, _conn, target) -> None:
    raise NoteIsAppendOnly(f"Summary notes cannot be deleted (note {target.id})")


REFERRAL_STATUSES = ["Sent to local team", "Accepted", "Completed", "Declined"]


class Signpost(Model):
    """A Local Signpost on a case: a category from the admin list."""

    __tablename__ = "case_signposts"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("lookup_items.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    category = relationship("LookupItem")


class Referral(Model):
    """A Local Referral: a response type, its extra fields, a status and the local team."""

    __tablename__ = "case_referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    response_type_id: Mapped[int] = mapped_column(ForeignKey("lookup_items.id"))
    status: Mapped[str] = mapped_column(String(30), default=REFERRAL_STATUSES[0])
    declined_reason: Mapped[str | None] = mapped_column(Text)
    local_team: Mapped[str | None] = mapped_column(String(120))
    extra: Mapped[dict] = mapped_column(db.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    response_type = relationship("LookupItem")
