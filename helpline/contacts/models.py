"""Contacts: people who call or are called about, with their consent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import Model
from ..timeutil import utcnow

CONSENT_STATUSES = ["Consent given", "Consent not requested", "Consent requested but refused"]
CONSENT_GIVEN_BY = ["The Caller for themselves", "The Caller on behalf of the Beneficiary"]
VERIFICATION_DETAILS = ["Name", "Postcode", "Date of birth", "Phone", "Address", "Email"]


def key_column(length: int):
    """A lower-cased search key; byte-order collation on PostgreSQL so prefix ranges use the index."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Contact(Model):
    """A caller or beneficiary."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    postcode_area: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(40))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    preferred_contact_time: Mapped[str | None] = mapped_column(String(100))
    consent_status: Mapped[str] = mapped_column(String(40))
    consent_given_by: Mapped[str] = mapped_column(String(60), default=CONSENT_GIVEN_BY[0])
    consent_provider_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    consent_decision_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    last_case_at: Mapped[datetime | None] = mapped_column(DateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime)  # erased (irreversible)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Search keys, kept in step by services.set_search_keys()
    first_key: Mapped[str | None] = mapped_column(key_column(100))
    last_key: Mapped[str | None] = mapped_column(key_column(100))
    full_key: Mapped[str | None] = mapped_column(key_column(201))
    phone_key: Mapped[str | None] = mapped_column(key_column(20))
    postcode_key: Mapped[str | None] = mapped_column(key_column(10))
    last_sound: Mapped[str | None] = mapped_column(String(8))

    consent_provider: Mapped["Contact | None"] = relationship(
        remote_side=[id], foreign_keys=[consent_provider_id])
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # Covering (name, other name, active, full_key): SQLite reads the filter and sort
        # keys from the index and loads a row only when it makes the page (1M-row benchmark).
        # (PostgreSQL's indexes hold no row id: INCLUDE it, so a search reads the index only.)
        Index("ix_contacts_first_last", "first_key", "last_key", "active", "full_key",
              postgresql_include=["id"]),
        Index("ix_contacts_last_first", "last_key", "first_key", "active", "full_key",
              postgresql_include=["id"]),
        Index("ix_contacts_full_key", "full_key"),
        Index("ix_contacts_phone_key", "phone_key", "active", "full_key",
              postgresql_include=["id"]),
        Index("ix_contacts_postcode_key", "postcode_key", "active", "full_key",
              postgresql_include=["id"]),
        Index("ix_contacts_last_sound", "last_sound"),
        # The name order (Active Contacts' pages), walked by a search for a common surname:
        # id and last_key in it, so neither the order nor the surname needs the row.
        Index("ix_contacts_active_full_key", "active", "full_key", "id", "last_key"),
        # Erasure finds the duplicates merged into a contact: without it a full scan (0.5 s
        # of every anonymise and every retention erasure at 1M contacts).
        Index("ix_contacts_merged_into_id", "merged_into_id"),
    )

    @property
    def has_consent(self) -> bool:
        """Consent given: names and details may be kept and shown."""
        return self.consent_status == CONSENT_STATUSES[0]

    @property
    def full_name(self) -> str:
        """First and last name, or an anonymous label with the area."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or f"Anonymous ({self.postcode_area} – {self.region})"

    @property
    def reference(self) -> str:
        return f"contact {self.id}"

    def __str__(self) -> str:
        return self.full_name


class Verification(Model):
    """A handler's record that the caller passed verification, for one signed-in session."""

    __tablename__ = "contact_verifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
