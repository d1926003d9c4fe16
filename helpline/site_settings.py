"""Texts an administrator changes without a release: the service name, the consent
statement and who can help someone who cannot sign in.

Stored in the `settings` table (one row per changed setting; no row means the default).
Pages read them on every request, so the values are cached per process for
CACHE_SECONDS (a save in this process clears the cache at once; other processes see it
within CACHE_SECONDS). Reading can never take a page down: if the table cannot be read
(not migrated yet, database away) the defaults are used and the failure is logged.
"""
from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import current_app, has_app_context
from sqlalchemy import DateTime, ForeignKey, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import Model, db
from .timeutil import utcnow

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0  # SETTINGS_CACHE_SECONDS overrides it
RETRY_AFTER_FAILURE = 5.0  # a table that could not be read is not asked again at once

DEFAULT_SERVICE_NAME = "Helpline"
# The statement read to the caller before their details are taken (seed 004: "The first
# step is to read the Consent statement shown on screen").
DEFAULT_CONSENT_STATEMENT = (
    "Before we take your details: we would like to keep your name, contact details and "
    "what you tell us on our secure database, so that we can help you now and if you call "
    "again, and so that local teams can support you. Only staff and volunteers who need "
    "them will see them, and you can ask us to delete them at any time. Are you happy for "
    "us to keep your details?"
)


class Setting(Model):
    """One administrator-changed setting; a setting with no row has its default."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@dataclass(frozen=True)
class Spec:
    """What a setting is called, its limits and its default."""

    key: str
    label: str
    hint: str
    max_length: int
    multiline: bool
    default: Callable[[], str]


def _account_help_default() -> str:
    if has_app_context():
        return current_app.config.get("ACCOUNT_HELP") or "an administrator"
    return "an administrator"


SPECS: dict[str, Spec] = {s.key: s for s in (
    Spec("service_name", "Service name",
         "Shown in the header and title of every page, on the sign-in page and in mails.",
         60, False, lambda: DEFAULT_SERVICE_NAME),
    Spec("consent_statement", "Consent statement",
         "Read to the caller before their details are taken (New Contact, Quick Create "
         "Contact).", 2000, True, lambda: DEFAULT_CONSENT_STATEMENT),
    Spec("account_help", "Who can help with sign-in",
         "Named in the messages shown to someone who cannot sign in: “Ask …”. For example "
         "“the duty manager on 0161 496 0000”.", 200, False, _account_help_default),
)}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(key: str, value: str | None) -> str:
    """The value as it is stored: control characters removed, a one-line setting on one
    line (so no value can add a mail header), outer spaces trimmed."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    if not SPECS[key].multiline:
        text = " ".join(text.split())
    text = "".join(ch for ch in _CONTROL.sub("", text)
                   if unicodedata.category(ch) != "Cf")  # invisible and direction marks
    return text.strip()


class _Cache:
    def __init__(self) -> None:
        self.stored: dict[str, str] | None = None
        self.until = 0.0


def _cache() -> _Cache:
    return current_app.extensions.setdefault("site_settings", _Cache())


def invalidate() -> None:
    """Forget the cached values (after a save), so the next read loads them again."""
    _cache().until = 0.0


def _load() -> dict[str, str] | None:
    try:
        # a savepoint: a failed read must not spoil the request's own unsaved work
        with db.session.begin_nested():
            rows = db.session.execute(select(Setting.key, Setting.value)).all()
    except SQLAlchemyError:
        log.exception("settings could not be read; the defaults are used")
        _recover()
        return None
    return {k: v for k, v in rows if k in SPECS}


def _recover() -> None:
    try:
        transaction = db.session().get_transaction()
        if transaction is not None and not transaction.is_active:
            db.session.rollback()
    except SQLAlchemyError:  # pragma: no cover - the connection itself is gone
        log.exception("rollback after failing to read the settings also failed")


def stored() -> dict[str, str]:
    """The values administrators changed (cached; {} if they cannot be read)."""
    cache = _cache()
    now = time.monotonic()
    if cache.stored is None or now >= cache.until:
        loaded = _load()
        ttl = current_app.config.get("SETTINGS_CACHE_SECONDS", CACHE_SECONDS)
        cache.stored = loaded if loaded is not None else (cache.stored or {})
        cache.until = now + (float(ttl) if loaded is not None else RETRY_AFTER_FAILURE)
    return cache.stored


def get(key: str) -> str:
    """A setting's current value: what an administrator saved, else its default."""
    value = stored().get(key)
    return value if value else SPECS[key].default()


def peek(key: str) -> str:
    """The value from the cache only (never the database): for pages shown because the
    database is not answering."""
    try:
        value = (_cache().stored or {}).get(key)
    except RuntimeError:  # no app context
        value = None
    return value if value else SPECS[key].default()


def service_name() -> str:
    """The service's name (header, page titles, mails)."""
    return get("service_name")


def consent_statement() -> str:
    """The consent statement read to the caller."""
    return get("consent_statement")


def account_help() -> str:
    """Who can help someone who cannot sign in ("Ask …")."""
    return get("account_help")
