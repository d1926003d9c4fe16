"""Password rules after NCSC and OWASP ASVS: long enough, not common, no composition rules.

The deny list is the 20,000 most common passwords shipped with the app (see
common-passwords.NOTICE): nothing is sent over the network.
"""
from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

_LIST = Path(__file__).with_name("common-passwords.txt.gz")
# Characters people swap in to "strengthen" a common word (P@ssw0rd → password).
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o",
                       "$": "s", "5": "s", "7": "t", "+": "t"})
_KEYBOARD = ("qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz",
             "01234567890", "09876543210")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped deny list, lower case."""
    with gzip.open(_LIST, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def _cores(password: str) -> set[str]:
    """The password as typed and stripped of the digits and symbols people tack on."""
    low = password.lower().strip()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", low)
    squashed = re.sub(r"[\s\W_]+", "", low)
    out = {low, core, squashed, low.translate(_LEET), squashed.translate(_LEET)}
    out |= {re.sub(r"^[\W\d_]+|[\W\d_]+$", "", c) for c in list(out)}
    return {c for c in out if c}


def _too_predictable(password: str) -> bool:
    """One character repeated, a short chunk repeated, or a run along the keyboard."""
    low = password.lower()
    if len(set(low)) <= 2:
        return True
    for size in range(1, len(low) // 2 + 1):
        if len(low) % size == 0 and low[:size] * (len(low) // size) == low:
            return True
    return any(low in row or low in row[::-1] for row in _KEYBOARD)


def problem(password: str, min_length: int, context: tuple[str, ...] = ()) -> str | None:
    """Why this password cannot be used (a message for the field), or None if it is fine."""
    password = password or ""
    if len(password) < min_length:
        return (f"Your password must be at least {min_length} characters. Three random "
                "words make a good one; no mix of symbols is needed.")
    if len(password) > 256:
        return "Your password must be 256 characters or fewer."
    common = common_passwords()
    if any(c in common for c in _cores(password)) or _too_predictable(password):
        return ("That password is too common and easy to guess. Choose another: three "
                "random words make a good one.")
    low = re.sub(r"[\W_]+", "", password.lower())
    for word in context:
        word = re.sub(r"[\W_]+", "", (word or "").lower())
        if len(word) >= 4 and word in low and len(low) - len(word) < 8:
            return "Your password must not be based on your name, email or 'Helpline'."
    return None
