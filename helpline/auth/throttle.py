"""Sign-in throttling that cannot be raced: one atomic statement per attempt and key.

Each attempt is counted *before* the password is checked, by an UPDATE … RETURNING on a
counter row (per account, per address, per second factor). The first failures are free;
from then on one attempt at a time may try, after a wait that doubles with every failure
up to a ceiling: a guesser is slowed to a crawl, but nobody can lock a colleague out for
longer than the ceiling. A success gives the account's count back. An account is counted per address it is tried
from, and an address's counter is shared by everyone behind it (a call centre's NAT): it
never holds a slot and refused attempts do not add to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Insert, Table, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..timeutil import utcnow
from .models import LoginThrottle

_T = cast(Table, LoginThrottle.__table__)  # a mapped class's __table__ is typed FromClause
_EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class ThrottleSettings:
    """Free failures per key kind, the window they are counted in, and the waits after."""

    per_account: int
    per_address: int
    window: timedelta
    delay: float = 2.0
    max_delay: float = 60.0


@dataclass(frozen=True)
class Ticket:
    """One counted attempt: may it check the password, and if not, how long to wait."""

    key: str
    number: int
    allowed: bool
    wait: float = 0.0
    held: bool = False  # this attempt holds the key until it reports back


def wait_after(failures: int, free: int, limits: ThrottleSettings) -> float:
    """Seconds the next attempt waits after `failures` failures (0 while still free)."""
    if failures < free:
        return 0.0
    return min(limits.delay * 2 ** (failures - free), limits.max_delay)


def _ensure_row(key: str) -> None:
    values = {"key": key, "failures": 0, "last_failure_at": None, "next_allowed_at": _EPOCH}
    if db.engine.dialect.name == "postgresql":
        stmt: Insert = postgresql.insert(_T).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(_T).values(**values).on_conflict_do_nothing()
    db.session.execute(stmt)


def take(key: str, free: int, limits: ThrottleSettings, now: datetime | None = None,
         shared: bool = False) -> Ticket:
    """Count one attempt on `key` atomically and say whether it may go ahead.

    A private key (one account from one address) lets one attempt at a time through once
    its free failures are used, and counts refused attempts too: a guesser only slows
    themselves. A `shared` key (an address many colleagues sign in from) never holds a
    slot and does not count refused attempts, so a colleague's refusal never lengthens
    everyone's wait.

    Never commits: the caller commits straight away (before the slow password check),
    so the count is visible to every other attempt."""
    now = now or utcnow()
    _ensure_row(key)
    stale = or_(_T.c.last_failure_at.is_(None), _T.c.last_failure_at < now - limits.window)
    counted = case((stale, 1), else_=_T.c.failures + 1)
    hold = now + timedelta(seconds=limits.max_delay)
    may_go = or_(counted <= free, _T.c.next_allowed_at <= now)
    if shared:
        row = db.session.execute(
            update(_T).where(_T.c.key == key, may_go)
            .values(failures=counted, last_failure_at=now).returning(_T.c.failures)).first()
        if row is not None:
            return Ticket(key, row[0], True)
        wait_until = db.session.scalar(select(_T.c.next_allowed_at).where(_T.c.key == key))
        assert wait_until is not None  # _ensure_row has made the row, never NULL
        return Ticket(key, 0, False, wait=max(1.0, (wait_until - now).total_seconds()))
    row = db.session.execute(
        update(_T).where(_T.c.key == key, may_go)
        .values(failures=counted, last_failure_at=now,
                next_allowed_at=case((counted >= free, hold), else_=_T.c.next_allowed_at))
        .returning(_T.c.failures)).first()
    if row is not None:
        return Ticket(key, row[0], True, held=row[0] >= free)
    refused = db.session.execute(
        update(_T).where(_T.c.key == key).values(failures=counted, last_failure_at=now)
        .returning(_T.c.failures, _T.c.next_allowed_at)).one()
    return Ticket(key, refused[0], False, wait=max(1.0, (refused[1] - now).total_seconds()))


def failed(ticket: Ticket, free: int, limits: ThrottleSettings) -> float:
    """The attempt failed: the next one on this key waits; returns that wait in seconds."""
    wait = wait_after(ticket.number, free, limits)
    if ticket.held or wait:
        db.session.execute(update(_T).where(_T.c.key == ticket.key).values(
            next_allowed_at=utcnow() + timedelta(seconds=wait)))
    return wait


def succeeded(ticket: Ticket, forget: bool) -> None:
    """The attempt succeeded: the account's count is forgotten; an address's is given back."""
    if forget:
        values = {"failures": 0, "next_allowed_at": _EPOCH}
    else:
        values = {"failures": case((_T.c.failures > 0, _T.c.failures - 1), else_=0)}
        if ticket.held:
            values["next_allowed_at"] = utcnow()
    db.session.execute(update(_T).where(_T.c.key == ticket.key).values(**values))


def failures(key: str) -> int:
    """Failures counted on a key in its current window (for pages and tests)."""
    return db.session.scalar(select(_T.c.failures).where(_T.c.key == key)) or 0


def account_key(email: str, ip: str) -> str:
    """The counter key of an account tried from one address (by the email typed, so unknown
    accounts count too). Per address, so that a guesser elsewhere can never keep the
    account's owner out; the address's own counter limits spraying many accounts."""
    return f"account:{email}|{ip}"[:320]


def address_key(ip: str) -> str:
    """The counter key of a network address."""
    return f"address:{ip}"[:320]
