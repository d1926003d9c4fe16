"""Second factor: TOTP codes from any authenticator app, and one-time recovery codes."""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import or_, update

from .. import audit
from ..extensions import db, rowcount, table_of
from ..timeutil import utcnow
from .models import RecoveryCode, User

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required_for(user: User, required_roles: tuple[str, ...]) -> bool:
    """Whether this user must use a second factor (their role is in the setting)."""
    return user.role in required_roles


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The URI as an SVG QR code in a data: URL for an <img> (drawn here, no external
    service; an image rather than inline markup, so nothing is marked safe)."""
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(img.to_string()).decode()


def _clean(code: str) -> str:
    return re.sub(r"[\s-]+", "", (code or "").strip().lower())


def code_matches(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step whose code this is (one step of clock drift either way), or None."""
    code = _clean(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_totp(user: User, code: str) -> bool:
    """Accept a current code once: the step is claimed atomically, so a replay fails."""
    if not user.totp_secret:
        return False
    step = code_matches(user.totp_secret, code)
    if step is None:
        return False
    claimed = db.session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None),
                                                    User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    return rowcount(claimed) == 1


def just_used(user: User, code: str) -> bool:
    """Whether this is a right code whose time step has already been used to sign in."""
    step = code_matches(user.totp_secret, code) if user.totp_secret else None
    return step is not None and user.totp_last_step is not None and step <= user.totp_last_step


def _hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (shown once)."""
    db.session.execute(table_of(RecoveryCode).delete().where(
        RecoveryCode.__table__.c.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """A recovery code works once: it is marked used by one atomic UPDATE."""
    if len(_clean(code)) != 10:
        return False
    result = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == _hash(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    return rowcount(result) == 1


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes the user has."""
    from sqlalchemy import func, select
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def enable(user: User, secret: str, actor: User) -> list[str]:
    """Turn the second factor on with a confirmed secret; returns new recovery codes."""
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    audit.record(actor, "two-factor set up", "user", user.id)
    return new_recovery_codes(user)


def reset(user: User, actor: User, reason: str | None = None) -> None:
    """An administrator clears a user's second factor (they set it up again at sign-in)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(table_of(RecoveryCode).delete().where(
        RecoveryCode.__table__.c.user_id == user.id))
    audit.record(actor, "two-factor reset", "user", user.id, reason=reason)
