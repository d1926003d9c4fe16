"""The data team's background work: the export job (RQ), and what every worker runs on a
timer (retention, export housekeeping)."""
from __future__ import annotations

import redis

from ..jobs import task
from . import exports, retention


@task
def run_export(batch_id: int) -> str:
    """The export job, queued after the commit that created its batch."""
    return exports.write_export(batch_id)


def retention_once_today(conn: redis.Redis, years: int) -> int:
    """Erase what is past its retention period, once a day across all workers; how many."""
    report = retention.run_once_today(conn, years)
    return len(report.contacts) + len(report.requests) if report else 0


def exports_housekeeping() -> int:
    """Mark exports whose job was lost as failed; delete files past their 30 days."""
    return exports.housekeeping()
