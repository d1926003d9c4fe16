"""Name keys for search and duplicate detection."""
from __future__ import annotations

import re
import unicodedata

_CODES = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
          **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}


def fold(value: str | None) -> str:
    """Lower case, accents removed, spaces collapsed: `  Zoë  O'Brien` → `zoe o'brien`."""
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip().lower()


def soundex(name: str | None) -> str | None:
    """American Soundex of a surname, so Livingstone and Livingston match (L152)."""
    letters = [c for c in fold(name) if "a" <= c <= "z"]
    if not letters:
        return None
    first, out, last = letters[0], [], _CODES.get(letters[0], "")
    for c in letters[1:]:
        code = _CODES.get(c, "")
        if code and code != last:
            out.append(code)
        if c not in "hw":
            last = code
    return (first.upper() + "".join(out) + "000")[:4]
