"""Call backs' background work, run by every worker on a timer (a conditional UPDATE makes
each reminder go out once)."""
from __future__ import annotations

from . import services


def reminders(base_url: str) -> int:
    """Push the reminders that are due and escalate the overdue call backs; how many."""
    return services.fire_due() + services.escalate_overdue(base_url)
