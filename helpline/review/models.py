"""Export batches: who exported what, when, with which filters, and the file's hash."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..extensions import Model
from ..timeutil import utcnow


class ExportBatch(Model):
    """One export (CSV or XLSX), downloadable again for 30 days."""

    __tablename__ = "export_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    fmt: Mapped[str] = mapped_column(String(8), default="csv")
    with_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    file_path: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Touched at every progress commit of a running export: a running batch whose
    # heartbeat is stale lost its job (worker killed, Redis lost it) and is marked failed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)

    created_by: Mapped[User] = relationship()

    @property
    def finished(self) -> bool:
        """No more progress will come: the progress page stops polling."""
        return self.status not in ("queued", "running")

    @property
    def percent(self) -> int:
        return 100 if self.status == "done" else int(100 * self.done_rows / self.total) \
            if self.total else 0
