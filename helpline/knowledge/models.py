"""Knowledge articles, the directory of local organisations, and the local teams that
Local Referrals are sent to."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..lookups.models import LookupItem
from ..timeutil import utcnow


class Article(Model):
    """A short knowledge article handlers search from any page."""

    __tablename__ = "knowledge_articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str | None] = mapped_column(String(300))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Organisation(Model):
    """A local organisation handlers can signpost to, by category and region."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("lookup_items.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(300))
    opening_hours: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    category: Mapped[LookupItem] = relationship()


class LocalTeam(Model):
    """A local team (e.g. a Red Cross tactical cell): its mailbox and the regions it
    serves. Accepted Local Referrals for a beneficiary in one of its regions are mailed to it."""

    __tablename__ = "local_teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    mailbox: Mapped[str] = mapped_column(String(254))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    regions: Mapped[list["LocalTeamRegion"]] = relationship(
        order_by="LocalTeamRegion.region", cascade="all, delete-orphan")

    @property
    def region_names(self) -> list[str]:
        return [r.region for r in self.regions]

    def __str__(self) -> str:
        return self.name


class LocalTeamRegion(Model):
    """One region a local team serves (a region is served by at most one active team)."""

    __tablename__ = "local_team_regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("local_teams.id", ondelete="CASCADE"),
                                         index=True)
    region: Mapped[str] = mapped_column(String(40), index=True)
