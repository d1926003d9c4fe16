"""The lookup lists and response-type fields as forms offer them, cached per process.

Pages with a case or interaction form offer several lists on every request; the lists change
only when an administrator edits them (Admin → Lists). Each process keeps plain, read-only
copies of every list (`Item`, `Field`: the same attributes as the rows), loaded with one
query for all the lists and one for all the fields.

Invalidation, across processes: any change to a list item or a response-type field (any
flush of one, whoever makes it: Admin → Lists, the demo seed, the training reset) also writes
a new random token to the `settings` row `lookups_version`, in the same transaction. A
request that needs a list reads that one row by its primary key, once per request, and uses
the copies only when they were loaded under the same token: a change committed by any process
is seen by the next request of every process. Not a TTL: an administrator who retires an item
expects the next page to stop offering it. Not Redis: pages must work while Redis is away,
and the token read is one primary-key look-up. A request that itself changed a list (not
committed yet) reads the database directly and caches nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..site_settings import Setting
from .models import LookupItem, ResponseTypeField

VERSION_KEY = "lookups_version"


@dataclass(frozen=True, slots=True)
class Item:
    """A lookup item as offered (a read-only copy of its row)."""

    id: int
    list_name: str
    name: str
    position: int
    retired: bool
    counts_as_success: bool
    counts_as_complaint: bool
    mailbox: str | None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Field:
    """An extra field of a Local Response Type (a read-only copy of its row)."""

    id: int
    response_type_id: int
    name: str
    kind: str
    choices: str | None
    required: bool
    position: int

    @property
    def choice_list(self) -> list[str]:
        return [c.strip() for c in (self.choices or "").split(",") if c.strip()]


@dataclass(frozen=True)
class _Lists:
    token: str | None
    items: dict[str, tuple[Item, ...]]
    fields: dict[int, tuple[Field, ...]]


def _version() -> str | None:
    """The token of the committed lists (read once per request)."""
    if "lookups_version" not in g:
        g.lookups_version = db.session.scalar(
            select(Setting.value).where(Setting.key == VERSION_KEY))
    return g.lookups_version


def _load(token: str | None) -> _Lists:
    items: dict[str, list[Item]] = {}
    for row in db.session.execute(
            select(LookupItem.id, LookupItem.list_name, LookupItem.name, LookupItem.position,
                   LookupItem.retired, LookupItem.counts_as_success,
                   LookupItem.counts_as_complaint, LookupItem.mailbox)
            .where(LookupItem.retired.is_(False))
            .order_by(LookupItem.list_name, LookupItem.position, LookupItem.name)):
        items.setdefault(row.list_name, []).append(Item(*row))
    fields: dict[int, list[Field]] = {}
    for frow in db.session.execute(
            select(ResponseTypeField.id, ResponseTypeField.response_type_id,
                   ResponseTypeField.name, ResponseTypeField.kind, ResponseTypeField.choices,
                   ResponseTypeField.required, ResponseTypeField.position)
            .order_by(ResponseTypeField.response_type_id, ResponseTypeField.position,
                      ResponseTypeField.id)):
        fields.setdefault(frow.response_type_id, []).append(Field(*frow))
    return _Lists(token, {k: tuple(v) for k, v in items.items()},
                  {k: tuple(v) for k, v in fields.items()})


def _lists() -> _Lists:
    if g.get("lookups_changed"):  # this request changed a list: its own view, not cached
        return _load(None)
    token = _version()
    cached: _Lists | None = current_app.extensions.get("lookups_cache")
    if cached is None or cached.token != token:
        cached = current_app.extensions["lookups_cache"] = _load(token)
    return cached


def offered_items(list_name: str) -> tuple[Item, ...]:
    """A list's items offered on forms: not retired, in order (as models.offered)."""
    return _lists().items.get(list_name, ())


def fields_of(response_type_id: int) -> tuple[Field, ...]:
    """The extra fields of a response type, in order (as models.fields_for)."""
    return _lists().fields.get(response_type_id, ())


def forget() -> None:
    """Drop this process's copies (as a process that has not read them yet has none)."""
    if has_app_context():
        current_app.extensions.pop("lookups_cache", None)


def _touches_lists(session: Session) -> bool:
    return any(isinstance(obj, (LookupItem, ResponseTypeField))
               for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "before_flush")
def _new_version(session: Session, _context: Any, _instances: Any) -> None:
    """A flush that changes a list item or a field writes a new version token with it."""
    if _touches_lists(session):
        _bump(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state: Any) -> None:
    """So does an ORM UPDATE, DELETE or INSERT statement on them (a bulk change, a script
    in `flask shell`). Raw SQL outside the ORM cannot be seen: whoever writes it must
    also change the `lookups_version` row (see `bump_version`)."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete or state.is_insert) and mapper is not None \
            and mapper.class_ in (LookupItem, ResponseTypeField):
        _bump(state.session)


def bump_version(session: Session) -> None:
    """A new token in this session's transaction: every process reloads the lists."""
    _bump(session)


def _bump(session: Session) -> None:
    with session.no_autoflush:
        row = session.get(Setting, VERSION_KEY)
    token = secrets.token_hex(8)
    if row is None:
        session.add(Setting(key=VERSION_KEY, value=token))
    else:
        row.value = token
    if has_app_context():
        g.lookups_changed = True
        forget()
