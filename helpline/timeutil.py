"""Times are stored as naive UTC and shown in Europe/London as dd/mm/yyyy HH:MM."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import overload
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (what the database stores)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@overload
def to_london(value: datetime) -> datetime: ...
@overload
def to_london(value: None) -> None: ...
@overload
def to_london(value: datetime | None) -> datetime | None: ...
def to_london(value: datetime | None) -> datetime | None:
    """Convert a stored naive-UTC datetime to an aware Europe/London one."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LONDON)


def london_format(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Format a stored datetime for people: dd/mm/yyyy HH:MM in Europe/London."""
    local = to_london(value)
    return local.strftime(fmt) if local else ""


def london_to_utc(value: datetime) -> datetime:
    """Turn a naive Europe/London wall-clock time typed by a user into naive UTC."""
    return value.replace(tzinfo=LONDON).astimezone(timezone.utc).replace(tzinfo=None)
