"""Cases (CA…): the support requested or arranged for a contact, and their notes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Team, User
from ..contacts.models import Contact
from ..extensions import Model, db
from ..numbers import MAX_ID, whole_number
from ..timeutil import london_format, utcnow

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
                            "updated_at"),
                      # My team's cases badge (status, nobody assigned, the user's teams) on
                      # every page: without it SQLite walks every unassigned case
                      Index("ix_cases_team_queue", "status", "assignee_id", "team_id"))

    @property
    def reference(self) -> str:
        return f"CA{self.id + REFERENCE_OFFSET}"

    @staticmethod
    def id_from_reference(ref: str) -> int | None:
        """CA45011 → 11."""
        ref = (ref or "").strip().upper().removeprefix("CA")
        number = whole_number(ref, upper=MAX_ID + REFERENCE_OFFSET)
        return number - REFERENCE_OFFSET if number is not None and number > REFERENCE_OFFSET else None

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


# A referral waits for the data team's review, is then mailed to the local team serving the
# beneficiary's region (or waits for one), and is marked Actioned (or Declined, with a reason).
AWAITING_REVIEW, AWAITING_TEAM, SENT, ACTIONED, DECLINED = (
    "Awaiting review", "Awaiting a local team", "Sent", "Actioned", "Declined")
REFERRAL_STATUSES = [AWAITING_REVIEW, AWAITING_TEAM, SENT, ACTIONED, DECLINED]
NOT_SENT = (AWAITING_REVIEW, AWAITING_TEAM)  # what accepting the case sends


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
    """A Local Referral: a response type, its extra fields, and where it went: the local
    team's name is kept as it was when sent (older rows keep their free text)."""

    __tablename__ = "case_referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    response_type_id: Mapped[int] = mapped_column(ForeignKey("lookup_items.id"))
    status: Mapped[str] = mapped_column(String(30), default=AWAITING_REVIEW, index=True)
    declined_reason: Mapped[str | None] = mapped_column(Text)
    local_team: Mapped[str | None] = mapped_column(String(120))
    # the directory's team (knowledge.LocalTeam) it was mailed to; the table by name only
    local_team_id: Mapped[int | None] = mapped_column(ForeignKey("local_teams.id"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    actioned_at: Mapped[datetime | None] = mapped_column(DateTime)
    actioned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    extra: Mapped[dict] = mapped_column(db.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    response_type = relationship("LookupItem")
    actioned_by: Mapped[User | None] = relationship(foreign_keys=[actioned_by_id])

    @property
    def locked(self) -> bool:
        """Sent (or past it): what went to the local team is no longer edited on the case."""
        return self.status not in NOT_SENT

    @property
    def status_label(self) -> str:
        """The status as people read it: "Sent to North West team on 07/12/2026"."""
        if self.status == SENT:
            when = f" on {london_format(self.sent_at, '%d/%m/%Y')}" if self.sent_at else ""
            return f"Sent to {self.local_team or 'the local team'}{when}"
        if self.status == ACTIONED and self.actioned_at:
            return f"Actioned on {london_format(self.actioned_at, '%d/%m/%Y')}"
        if self.status == DECLINED and self.declined_reason:
            return f"Declined: {self.declined_reason}"
        return self.status
