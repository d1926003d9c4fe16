"""Access for the person the work belongs to: no fresh verification for them.

A volunteer sees a person's cases only after recording that the caller passed verification
in this session. The people the work belongs to (the case owner, its assignee, the owner of
a call back on it) open the case and the contact without that; a caseworker given a
view-only hand-over sees them and changes nothing. Higher domains (cases, call backs) say
who those people are by answering the signals below; contacts never imports them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from blinker import Namespace

from .. import audit
from ..auth.models import User
from .models import Contact

FULL, VIEW = "full", "view"

# rank: the case owner or assignee (3) beats a view-only hand-over (2), which beats the
# owner of a call back (1) – the hand-over's call back is owned by the caseworker too.
CASE_OWNER, HAND_OVER, CALL_BACK_OWNER = 3, 2, 1


@dataclass(frozen=True)
class Access:
    """Why someone may open a record without verifying, and whether they may change it."""

    level: str  # FULL or VIEW
    reason: str  # "case owner of CA45001", "owner of call back 12", …
    rank: int
    callback_id: int | None = None

    @property
    def view_only(self) -> bool:
        return self.level == VIEW


_signals = Namespace()
# contact_access.send(contact, user=user) -> [(receiver, Access | None), …]
contact_access = _signals.signal("contact-access")


def best(found: Iterable[Access | None]) -> Access | None:
    """The access that decides: the highest rank."""
    given = [a for a in found if a is not None]
    return max(given, key=lambda a: a.rank) if given else None


def owner_access(contact: Contact, user: User) -> Access | None:
    """Whether the work on this contact belongs to `user` (and how)."""
    return best(result for _, result in contact_access.send(contact, user=user))


def log_owner_access(user: User, record_type: str, record_id, access: Access,
                     ip: str | None = None) -> None:
    """Audit an opening by ownership: recorded as access by owner, never as a verification."""
    audit.record(user, "access-by-owner", record_type, record_id, ip=ip,
                 reason=f"Access by owner ({access.reason}); no verification recorded")
