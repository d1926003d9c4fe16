"""Page chrome that can never take a page down (house style 15).

Each navigation badge is one cheap query computed inside its own guard: a failing badge
is logged and left out, and the page (the error page too) is shown without it.
"""
from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Callable

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

log = logging.getLogger(__name__)


def badge(name: str, compute: Callable[[], Any]) -> dict[str, Any]:
    """{name: compute()}, or {} (logged) when computing it fails."""
    try:
        return {name: compute()}
    except Exception:  # noqa: BLE001 — chrome must never take the page down
        _failed(name)
        return {}


def _failed(name: str) -> None:
    log.exception("navigation badge %r failed; the page is shown without it", name)
    try:
        # a failed statement leaves the transaction unusable (PostgreSQL): start afresh so
        # the rest of the page can still read (views have committed before rendering)
        db.session.rollback()
    except SQLAlchemyError:  # pragma: no cover - the connection itself is gone
        log.exception("rollback after a failed badge also failed")


def guard_context_processors(app: Flask) -> None:
    """Wrap every context processor (the app's and each blueprint's) so that one raising
    is logged and contributes nothing, instead of failing the page."""
    for key, processors in app.template_context_processors.items():
        app.template_context_processors[key] = [_guarded(p) for p in processors]


def _guarded(processor: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    if getattr(processor, "_badge_guarded", False):
        return processor

    @wraps(processor)
    def wrapped() -> dict[str, Any]:
        try:
            return processor()
        except Exception:  # noqa: BLE001
            _failed(getattr(processor, "__qualname__", repr(processor)))
            return {}

    wrapped._badge_guarded = True  # type: ignore[attr-defined]
    return wrapped
