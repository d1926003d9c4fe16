"""Saving the case screen: parse the post → the services' rules → save, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import flash, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import submissions
from ..extensions import db
from ..numbers import whole_number
from ..rules import RuleError, place_error
from ..timeutil import utcnow
from . import rows, services
from .forms import CaseForm, to_bool
from .models import Case
from .screen import CaseScreen


@dataclass
class Saved:
    """What a save did: the case it saved, or the twin an identical post saved first."""

    case: Case | None = None
    twin_id: int | None = None


def case_input(form: CaseForm, signposts: list, referrals: list) -> services.CaseInput:
    """The validated form and rows as the services take them."""
    ben, title = form.beneficiary_id.data, form.title.data
    assert title is not None  # validated first (_valid): InputRequired, so it was typed
    return services.CaseInput(
        title=title.strip(), who_requires_support=form.who_requires_support.data,
        beneficiary_id=whole_number(ben),
        beneficiary_consent=to_bool(form.beneficiary_consent.data),
        psychosocial_support=bool(to_bool(form.psychosocial_support.data)),
        safeguarding_activated=bool(to_bool(form.safeguarding_activated.data)),
        safeguarding_reason=(form.safeguarding_reason.data or "").strip() or None,
        feedback_consent=to_bool(form.feedback_consent.data),
        ready_for_review=form.ready_for_review.data == "yes", note=form.note.data,
        signposts=signposts, referrals=referrals)


def changes_since(case: Case, loaded_at: str | None) -> list:
    """What others changed since this form was loaded (the latest changes if it does not say)."""
    try:
        since = datetime.fromisoformat(loaded_at) if loaded_at else None
    except ValueError:  # a tampered hidden field
        since = None
    if since is None:
        return services.case_history(case, latest=10)
    return services.case_history(case, since=since)


def _valid(screen: CaseScreen) -> bool:
    valid = screen.form.validate_on_submit()
    valid = rows.validate_signposts(screen.signposts) and valid
    return rows.validate_referrals(screen.referrals) and valid


def _show_conflict(screen: CaseScreen) -> None:
    """Someone saved first: show what they changed; saving again applies this input."""
    assert screen.case is not None
    screen.conflict = changes_since(screen.case, request.form.get("loaded_at"))
    screen.form.version.data = str(screen.case.version)
    screen.form.loaded_at.data = utcnow().isoformat(timespec="seconds")


def save(screen: CaseScreen) -> Saved:
    """Validate and save the screen; on a refusal the screen carries the messages (at the
    fields, or the conflict) and nothing is saved."""
    if not _valid(screen):
        return Saved()
    case, form = screen.case, screen.form
    try:
        if case is not None:
            services.check_version(case, form.version.data)
        saved = services.save_case(case, screen.caller,
                                   case_input(form, screen.signposts, screen.referrals),
                                   current_user)
        if case is None:
            db.session.flush()
            submissions.remember(screen.form_token, "case", saved.id)
        db.session.commit()
    except services.ConflictError:
        db.session.rollback()
        _show_conflict(screen)
        return Saved()
    except RuleError as exc:
        db.session.rollback()
        if not place_error(form, exc):
            flash(str(exc), "error")
        return Saved()
    except IntegrityError as exc:  # its twin, posted at the same moment, was saved
        db.session.rollback()
        twin = submissions.already(screen.form_token, "case") \
            if submissions.is_duplicate_error(exc) else None
        if twin is None:
            raise
        return Saved(twin_id=twin)
    return Saved(case=saved)
