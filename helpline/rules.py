"""One way to run a change from a view: services raise `RuleError` when a rule is broken;
`commit_change` commits, or rolls back and puts the message at the field it names."""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from flask import flash
from flask_wtf import FlaskForm

from .extensions import db

T = TypeVar("T")


class RuleError(ValueError):
    """A rule was broken; `field` names the form field the message belongs to (None: the
    page's error summary), `status` the HTTP status to answer with."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.status = field, status


class Outcome(Generic[T]):
    """What `commit_change` did: truthy when committed (`value` is the service's result),
    falsy when refused (`error` holds the RuleError, already placed at its form field)."""

    def __init__(self, value: T | None = None, error: RuleError | None = None) -> None:
        self.value, self.error = value, error

    def __bool__(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return str(self.error) if self.error else ""


def place_error(form: FlaskForm | None, exc: RuleError) -> bool:
    """Put the message at the form field it names; False when there is no such field."""
    field = getattr(form, exc.field, None) if form is not None and exc.field else None
    if field is None:
        return False
    field.errors = [*field.errors, str(exc)]
    return True


def commit_change(change: Callable[..., T], *args, form: FlaskForm | None = None,
                  **kwargs) -> Outcome[T]:
    """Run `change(*args, **kwargs)` (a service that never commits) and commit; on a
    RuleError roll back, place the message at its field of `form`, and say so."""
    try:
        value = change(*args, **kwargs)
    except RuleError as exc:
        db.session.rollback()
        if not place_error(form, exc) and form is not None:
            flash(str(exc), "error")  # a message with no field of this form: never lost
        return Outcome(error=exc)
    db.session.commit()
    return Outcome(value)
