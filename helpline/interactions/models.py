"""Interactions (INT…): one call, email or message, with its handlers and interventions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..cases.models import Case
from ..contacts.models import Contact
from ..extensions import Model, db
from ..lookups.models import LookupItem
from ..timeutil import utcnow

REFERENCE_OFFSET = 39000  # INT39001 is interaction 1
DIRECTIONS = ["Inbound", "Outbound"]
COUNTRIES = ["England", "Scotland", "Wales", "Northern Ireland", "Outside the UK", "Not known"]


class Interaction(Model):
    """A call, email or message."""

    __tablename__ = "interactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    fully_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    enquirer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    enquirer_country: Mapped[str | None] = mapped_column(String(40))
    interaction_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    method_id: Mapped[int | None] = mapped_column(ForeignKey("lookup_items.id"))
    direction: Mapped[str] = mapped_column(String(10), default="Inbound")
    # indexed: "still to finish" (no Call State yet) is found without reading every call
    call_state_id: Mapped[int | None] = mapped_column(ForeignKey("lookup_items.id"),
                                                      index=True)
    duration_mins: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    out_of_remit: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_remit_reason_id: Mapped[int | None] = mapped_column(ForeignKey("lookup_items.id"))
    community: Mapped[bool] = mapped_column(Boolean, default=False)
    covid_related: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    call_back_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    enquirer: Mapped[Contact | None] = relationship()
    case: Mapped[Case | None] = relationship()
    method: Mapped[LookupItem | None] = relationship(foreign_keys=[method_id])
    call_state: Mapped[LookupItem | None] = relationship(foreign_keys=[call_state_id])
    out_of_remit_reason: Mapped[LookupItem | None] = relationship(
        foreign_keys=[out_of_remit_reason_id])
    created_by: Mapped[User | None] = relationship()
    handlers: Mapped[list["InteractionHandler"]] = relationship(
        back_populates="interaction", order_by="InteractionHandler.id",
        cascade="all, delete-orphan")
    interventions: Mapped[list[LookupItem]] = relationship(
        secondary="interaction_interventions", order_by="LookupItem.position")

    @property
    def reference(self) -> str:
        return f"INT{self.id + REFERENCE_OFFSET}"

    @property
    def handler_users(self) -> list[User]:
        return [h.user for h in self.handlers]

    @property
    def is_complaint(self) -> bool:
        # the flag an administrator sets on the reason, never its wording
        return bool(self.out_of_remit and self.out_of_remit_reason
                    and self.out_of_remit_reason.counts_as_complaint)


class InteractionHandler(Model):
    """A handler assigned to an interaction: who assigned them, and when."""

    __tablename__ = "interaction_handlers"
    __table_args__ = (UniqueConstraint("interaction_id", "user_id",
                                       name="uq_interaction_handlers_pair"),
                      # "Assigned to me": one user's rows, newest first
                      Index("ix_interaction_handlers_user_assigned", "user_id", "assigned_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    interaction: Mapped[Interaction] = relationship(back_populates="handlers")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])


interaction_interventions = db.Table(
    "interaction_interventions",
    db.Column("interaction_id", Integer, ForeignKey("interactions.id", ondelete="CASCADE"),
              primary_key=True),
    db.Column("item_id", Integer, ForeignKey("lookup_items.id"), primary_key=True),
)
