"""Sign-in, throttling, server-side sessions and user management rules."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db
from ..timeutil import utcnow
from .models import ROLES, LoginAttempt, Team, User, UserSession

# A hash to compare against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
# Write last_seen_at at most this often, so every click is not a database write.
_TOUCH_EVERY = timedelta(seconds=60)


class SignInError(Exception):
    """A refusal to sign in, with the message to show next to the form."""


class UserError(ValueError):
    """Bad input when creating or changing a user."""


@dataclass(frozen=True)
class ThrottleSettings:
    """Limits on failed sign-ins within a window."""

    per_account: int
    per_address: int
    window: timedelta


def _off_the_event_loop(fn, *args):
    """Run a slow KDF call in gevent's thread pool when the web server runs under gevent.

    scrypt takes 100–300 ms and releases the GIL; on the gevent worker it would otherwise
    stall every other request and open stream for that long."""
    try:
        from gevent import get_hub, monkey
    except ImportError:  # pragma: no cover - gevent is in requirements
        return fn(*args)
    if not monkey.is_module_patched("threading"):
        return fn(*args)
    return get_hub().threadpool.apply(fn, args)


def hash_password(password: str) -> str:
    """Hash with scrypt (Werkzeug's default modern KDF)."""
    return _off_the_event_loop(generate_password_hash, password, "scrypt")


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively."""
    return (email or "").strip().lower()


def _failures_since(column, value: str, since) -> int:
    stmt = select(func.count(LoginAttempt.id)).where(
        column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since
    )
    return db.session.scalar(stmt) or 0


def check_throttle(email: str, ip: str, limits: ThrottleSettings) -> None:
    """Refuse when too many recent failures came for this account or from this address."""
    since = utcnow() - limits.window
    minutes = int(limits.window.total_seconds() // 60)
    if _failures_since(LoginAttempt.email, email, since) >= limits.per_account:
        raise SignInError(
            f"Too many failed sign-in attempts for this account. Wait {minutes} minutes "
            "and try again, or ask a supervisor to reset your password."
        )
    if _failures_since(LoginAttempt.ip, ip, since) >= limits.per_address:
        raise SignInError(
            f"Too many failed sign-in attempts from this computer. Wait {minutes} minutes "
            "and try again."
        )


def authenticate(email: str, password: str, ip: str, limits: ThrottleSettings) -> User:
    """Return the user for good credentials, or raise SignInError with a clear message."""
    email = normalise_email(email)
    check_throttle(email, ip, limits)
    user = db.session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user else _DUMMY_HASH
    # Give the connection back while the KDF runs (a fifth of a second): a burst of
    # sign-ins at the start of a shift must not hold every connection in the pool.
    db.session.commit()
    ok = _off_the_event_loop(check_password_hash, stored, password or "")
    db.session.add(LoginAttempt(email=email, ip=ip, success=bool(ok and user)))
    if not ok or user is None:
        raise SignInError("Enter a correct email address and password.")
    if not user.active:
        raise SignInError("Your account has been deactivated. Ask an administrator.")
    return user


def start_session(user: User, ip: str | None, user_agent: str | None) -> UserSession:
    """Open a new server-side session with a fresh random id."""
    now = utcnow()
    sess = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now,
                       last_seen_at=now, ip=ip, user_agent=(user_agent or "")[:255])
    user.latest_authentication = now
    db.session.add(sess)
    audit.record(user, "sign-in", "user", user.id, ip=ip)
    return sess


def load_session(session_id: str | None, idle: timedelta) -> UserSession | None:
    """Return the live session for this id, ending it if it has been idle too long."""
    if not session_id:
        return None
    sess = db.session.get(UserSession, session_id)
    if sess is None or sess.ended_at is not None:
        return None
    now = utcnow()
    if now - sess.last_seen_at > idle:
        end_session(sess, "idle timeout")
        db.session.commit()
        return None
    if not sess.user.active:
        end_session(sess, "deactivated")
        db.session.commit()
        return None
    if now - sess.last_seen_at > _TOUCH_EVERY:
        sess.last_seen_at = now
        db.session.commit()
    return sess


def end_session(sess: UserSession, reason: str) -> None:
    """End one session (sign out, idle timeout, deactivation)."""
    if sess.ended_at is None:
        sess.ended_at = utcnow()
        sess.end_reason = reason


def end_all_sessions(user: User, reason: str, actor: User | None = None) -> int:
    """End every open session of a user; returns how many were ended."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    audit.record(actor, "end-sessions", "user", user.id, reason=reason)
    return result.rowcount or 0


def team_by_name(name: str) -> Team:
    """Find a team by name, creating it if needed."""
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    return team


def create_user(
    email: str,
    name: str,
    role: str,
    password: str,
    team: str | None = None,
    actor: User | None = None,
    password_hash: str | None = None,
    **extra,
) -> User:
    """Create a user after checking the input; raises UserError with a clear message."""
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise UserError(f"'{email}' is not an email address.")
    if not (name or "").strip():
        raise UserError("Enter the user's full name.")
    if role not in ROLES:
        raise UserError(f"Role must be one of: {', '.join(ROLES)}.")
    if password_hash is None and len(password or "") < 8:
        raise UserError("The password must be at least 8 characters.")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise UserError(f"A user with the email {email} already exists.")
    user = User(email=email, name=name.strip(), role=role,
                password_hash=password_hash or hash_password(password), **extra)
    if team:
        t = team_by_name(team)
        user.teams.append(t)
        user.default_team = t
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create", "user", user.id,
                 changes={"email": (None, email), "role": (None, role)})
    return user


def set_active(user: User, active: bool, actor: User) -> None:
    """Activate or deactivate (never delete) a user; deactivating ends their sessions."""
    changes = audit.diff(user, {"active": active})
    audit.record(actor, "update", "user", user.id, changes=changes)
    if not active:
        end_all_sessions(user, "deactivated", actor)
