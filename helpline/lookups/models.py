"""One table for every simple lookup list; items are retired, never deleted."""
from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db

# list key -> label people see
LISTS: dict[str, str] = {
    "signpost_category": "Signpost categories",
    "local_response_type": "Local response types",
    "out_of_remit_reason": "Out of remit reasons",
    "emergency_intervention": "Emergency interventions",
    "interaction_method": "Interaction methods",
    "call_state": "Call states",
    "call_result": "Call results",
    "call_back_outcome": "Call back outcomes",
    "review_checklist": "Review checklist items",
    "functionally_unique_team": "Functionally Unique teams",
}

# What an item of a list means, set by administrators (rules follow the flag, never the
# item's name): list key -> (column, label on the admin page).
LIST_FLAGS: dict[str, tuple[str, str]] = {
    "call_result": ("counts_as_success", "Successful call"),
    "out_of_remit_reason": ("counts_as_complaint", "Complaint"),
}
# Lists whose items carry a mailbox (where their mail goes).
MAILBOX_LISTS = {"functionally_unique_team"}


class LookupItem(Model):
    """An item of a lookup list, in the order administrators chose."""

    __tablename__ = "lookup_items"
    __table_args__ = (UniqueConstraint("list_name", "name", name="uq_lookup_items_list_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    counts_as_success: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    counts_as_complaint: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    mailbox: Mapped[str | None] = mapped_column(String(254))

    def __str__(self) -> str:
        return self.name


def offered(list_name: str) -> list[LookupItem]:
    """Items offered on forms: not retired, in order."""
    return list(db.session.scalars(
        select(LookupItem).where(LookupItem.list_name == list_name, LookupItem.retired.is_(False))
        .order_by(LookupItem.position, LookupItem.name)))


FIELD_KINDS = ["text", "number", "date", "yes-no", "choice"]


class ResponseTypeField(Model):
    """An extra field that a Local Response Type carries (e.g. Food: People in household)."""

    __tablename__ = "response_type_fields"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_type_id: Mapped[int] = mapped_column(
        db.ForeignKey("lookup_items.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="text")
    choices: Mapped[str | None] = mapped_column(String(500))  # comma-separated, for "choice"
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def choice_list(self) -> list[str]:
        return [c.strip() for c in (self.choices or "").split(",") if c.strip()]


def fields_for(response_type_id: int) -> list[ResponseTypeField]:
    """The extra fields of a response type, in order."""
    return list(db.session.scalars(
        select(ResponseTypeField).where(ResponseTypeField.response_type_id == response_type_id)
        .order_by(ResponseTypeField.position, ResponseTypeField.id)))
