"""Reading a whole number (an id, a version, a page) typed or posted as text: ASCII digits
only and within a database integer, or None. `str.isdigit` is true of "²" and "٣", which
`int` refuses or the database cannot hold, so a bad value is a message, never a 500."""
from __future__ import annotations

MAX_ID = 2**31 - 1  # the largest INTEGER PostgreSQL holds (SQLite's is larger)


def whole_number(value: object, upper: int = MAX_ID) -> int | None:
    """The number `value` spells (surrounding spaces allowed), or None."""
    text = str(value).strip() if value is not None else ""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(upper)):
        return None
    number = int(text)
    return number if number <= upper else None
