"""Sign-in, throttling, server-side sessions and user management rules."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db, rowcount
from ..rules import RuleError
from ..timeutil import utcnow
from . import passwords, throttle, twofactor
from .models import ROLES, LoginAttempt, Team, User, UserSession
from .throttle import ThrottleSettings

# A hash to compare against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
# Write last_seen_at at most this often, so every click is not a database write.
_TOUCH_EVERY = timedelta(seconds=60)


class SignInError(Exception):
    """A refusal to sign in, with the message to show next to the form."""




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


def _wait_text(seconds: float) -> str:
    seconds = int(seconds + 0.999)
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{(seconds + 59) // 60} minutes"


def _take_tickets(email: str, ip: str, limits: ThrottleSettings, help_text: str):
    """Count this attempt on the address and the account, or refuse it with the wait."""
    by_address = throttle.take(throttle.address_key(ip), limits.per_address, limits,
                               shared=True)
    if not by_address.allowed:
        db.session.commit()
        _audit_failure(None, email, ip, "delayed: too many from this address", checked=False)
        raise SignInError(
            "Too many failed sign-in attempts from this computer. Wait "
            f"{_wait_text(by_address.wait)} and try again. If you cannot sign in, "
            f"ask {help_text}.")
    by_account = throttle.take(throttle.account_key(email, ip), limits.per_account, limits)
    if not by_account.allowed:
        db.session.commit()
        _audit_failure(None, email, ip, "delayed: too many for this account", checked=False)
        raise SignInError(
            "Too many failed sign-in attempts for this account. Wait "
            f"{_wait_text(by_account.wait)} and try again. If you cannot sign in, "
            f"ask {help_text}.")
    db.session.commit()  # every other attempt sees this one counted, before the slow check
    return by_address, by_account


def _audit_failure(user: User | None, email: str, ip: str, reason: str,
                   checked: bool = True) -> None:
    """Every failed or delayed sign-in is audited; the failures whose password was checked
    are also listed on the failed sign-ins page (an attempt told to wait is not a failure
    of its own: the owner's right password, refused during a wait, must not count)."""
    if user is None:
        user = db.session.scalar(select(User).where(User.email == email))
    if checked:
        db.session.add(LoginAttempt(email=email[:254], ip=ip[:64], success=False))
    audit.record(None, "sign-in failed", "user", user.id if user else "unknown", ip=ip,
                 changes={"email": (None, email[:254])}, reason=reason)
    db.session.commit()


def authenticate(email: str, password: str, ip: str, limits: ThrottleSettings,
                 help_text: str = "an administrator") -> User:
    """Return the user for good credentials, or raise SignInError with a clear message."""
    email = normalise_email(email)[:254]
    by_address, by_account = _take_tickets(email, ip, limits, help_text)
    user = db.session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user else _DUMMY_HASH
    # The connection goes back while the KDF runs (a fifth of a second): a burst of
    # sign-ins at the start of a shift must not hold every connection in the pool.
    db.session.commit()
    ok = bool(_off_the_event_loop(check_password_hash, stored, password or "") and user)
    # Counter rows are always written address first, then account (as in _take_tickets),
    # so two attempts never wait on each other's rows in opposite orders (a deadlock).
    if not ok or user is None:  # ok implies a user (the "and user" above)
        throttle.failed(by_address, limits.per_address, limits)
        wait = throttle.failed(by_account, limits.per_account, limits)
        reason = f"wrong password; next attempt waits {wait:g} s" if wait else "wrong password"
        _audit_failure(user, email, ip, reason)
        raise SignInError("Enter a correct email address and password.")
    throttle.succeeded(by_address, forget=False)
    throttle.succeeded(by_account, forget=True)
    db.session.add(LoginAttempt(email=email, ip=ip[:64], success=True))
    if not user.active:
        raise SignInError(f"Your account has been deactivated. Ask {help_text}.")
    return user


def next_step(user: User, sess: UserSession, required_roles: tuple[str, ...]) -> str | None:
    """What this session still owes before it is signed in, or None."""
    if user.totp_enabled_at and sess.second_factor_at is None:
        return "totp"
    if user.password_must_change:
        return "password"
    if twofactor.required_for(user, required_roles) and not user.totp_enabled_at:
        return "totp-setup"
    return None


def start_session(user: User, ip: str | None, user_agent: str | None,
                  required_roles: tuple[str, ...] = ()) -> UserSession:
    """Open a new server-side session with a fresh random id (maybe with steps owed)."""
    now = utcnow()
    sess = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now,
                       last_seen_at=now, ip=ip, user_agent=(user_agent or "")[:255])
    sess.pending = next_step(user, sess, required_roles)
    db.session.add(sess)
    if sess.pending is None:
        user.latest_authentication = now
    audit.record(user, "sign-in" if sess.pending is None else "sign-in: password",
                 "user", user.id, ip=ip, reason=sess.pending and f"next: {sess.pending}")
    return sess


def step_done(sess: UserSession, required_roles: tuple[str, ...]) -> str | None:
    """Move a session past a finished step; returns the next step (None: signed in)."""
    sess.pending = next_step(sess.user, sess, required_roles)
    sess.last_seen_at = utcnow()
    if sess.pending is None:
        sess.user.latest_authentication = utcnow()
        audit.record(sess.user, "sign-in", "user", sess.user_id, ip=sess.ip)
    return sess.pending


@dataclass(frozen=True)
class SessionRules:
    """How long a session lives: idle time, and an absolute lifetime however active."""

    idle: timedelta
    lifetime: timedelta


def _expired(sess: UserSession, rules: SessionRules, now) -> str | None:
    if now - sess.created_at > rules.lifetime:
        return "lifetime"
    if now - sess.last_seen_at > rules.idle:
        return "idle timeout"
    if not sess.user.active:
        return "deactivated"
    return None


def load_session(session_id: str | None, rules: SessionRules, touch: bool = True,
                 pending_ok: bool = False) -> UserSession | None:
    """Return the live session for this id, ending it if idle or too old.

    Only a deliberate request (touch) counts as activity: event streams and polling
    read the session without keeping it alive."""
    if not session_id:
        return None
    # one query for the session and its user (the user is then in the identity map)
    sess = db.session.get(UserSession, session_id, options=[joinedload(UserSession.user)])
    if sess is None or sess.ended_at is not None:
        return None
    if sess.pending is not None and not pending_ok:
        return None
    now = utcnow()
    reason = _expired(sess, rules, now)
    if reason:
        end_session(sess, reason)
        db.session.commit()
        return None
    if touch and now - sess.last_seen_at > min(_TOUCH_EVERY, rules.idle / 10):
        sess.last_seen_at = now
        db.session.commit()
    return sess


def keep_alive(sess: UserSession) -> None:
    """The user is typing: count it as activity now."""
    sess.last_seen_at = utcnow()


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
    return rowcount(result) or 0


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
    min_length: int = 12,
    **extra,
) -> User:
    """Create a user after checking the input; raises RuleError with a clear message."""
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise RuleError(f"'{email}' is not an email address.")
    if not (name or "").strip():
        raise RuleError("Enter the user's full name.")
    if role not in ROLES:
        raise RuleError(f"Role must be one of: {', '.join(ROLES)}.")
    if password_hash is None:
        check_new_password(password, min_length, (email, name))
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise RuleError(f"A user with the email {email} already exists.")
    extra.setdefault("password_must_change", password_hash is None and actor is not None)
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


def check_new_password(password: str, min_length: int, context: tuple[str, ...] = ()) -> None:
    """Raise RuleError if the password is too short, common or based on the user's name."""
    reason = passwords.problem(password, min_length, ("helpline",) + tuple(context))
    if reason:
        raise RuleError(reason)


def set_password(user: User, password: str, actor: User, min_length: int = 12) -> None:
    """Set a new password. Set by someone else, it is temporary: changed at next sign-in."""
    check_new_password(password, min_length, (user.email, user.name))
    user.password_hash = hash_password(password)
    by_admin = actor.id != user.id
    user.password_must_change = by_admin
    user.password_changed_at = utcnow()
    audit.record(actor, "password reset" if by_admin else "password changed", "user", user.id,
                 changes={"password": ("(hidden)", "temporary" if by_admin else "changed")})
    end_all_sessions(user, "password reset" if by_admin else "password changed", actor)


def password_is(user: User, password: str | None) -> bool:
    """Whether this is the user's password (the slow KDF runs off gevent's event loop)."""
    return bool(_off_the_event_loop(check_password_hash, user.password_hash, password or ""))


def change_own_password(user: User, current: str, new: str, again: str,
                        min_length: int = 12) -> dict[str, str]:
    """Self-service change: current password plus the new one twice. Returns field errors."""
    errors: dict[str, str] = {}
    if not password_is(user, current):
        errors["current_password"] = "Your current password is not right"
    reason = passwords.problem(new, min_length, ("helpline", user.email, user.name))
    if reason:
        errors["new_password"] = reason
    elif new != again:
        errors["new_password_again"] = "The two new passwords are not the same"
    elif check_password_hash(user.password_hash, new):
        errors["new_password"] = "Choose a password that is different from your current one"
    if not errors:
        user.password_hash = hash_password(new)
        user.password_must_change = False
        user.password_changed_at = utcnow()
        audit.record(user, "password changed", "user", user.id)
    return errors
