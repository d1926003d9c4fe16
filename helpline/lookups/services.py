"""Changes to lookup lists and response-type fields (Admin → Lists): each checks its rules
(RuleError at the field it concerns), records the audit entry, and never commits."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from .. import audit
from ..auth.models import User
from ..extensions import db
from ..rules import RuleError
from .models import LIST_FLAGS, LISTS, MAILBOX_LISTS, LookupItem, ResponseTypeField, fields_for

MAILBOX = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def items(list_name: str) -> list[LookupItem]:
    """One list's items in order, retired ones included."""
    return list(db.session.scalars(select(LookupItem).where(LookupItem.list_name == list_name)
                                   .order_by(LookupItem.position, LookupItem.id)))


def checked_mailbox(value: str | None) -> str:
    """The mailbox typed, or RuleError at the mailbox field."""
    value = (value or "").strip()
    if not value:
        raise RuleError("Enter the team's mailbox (email address)", field="mailbox")
    if len(value) > 254 or not MAILBOX.match(value):
        raise RuleError("Enter the mailbox as an email address, like sars-team@example.org",
                        field="mailbox")
    return value


def add_item(list_name: str, name: str, mailbox: str | None, actor: User) -> LookupItem:
    """Add an item at the end of a list (a name already there, in any case, is refused)."""
    if db.session.scalar(select(LookupItem.id).where(LookupItem.list_name == list_name,
                                                     func.lower(LookupItem.name) == name.lower())):
        raise RuleError(f"“{name}” is already in the list", field="name")
    mailbox = checked_mailbox(mailbox) if list_name in MAILBOX_LISTS else None
    position = (db.session.scalar(select(func.max(LookupItem.position)).where(
        LookupItem.list_name == list_name)) or 0) + 1
    item = LookupItem(list_name=list_name, name=name, position=position, mailbox=mailbox)
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "create", "lookup", item.id,
                 changes={LISTS[list_name]: (None, name), "mailbox": (None, mailbox)})
    return item


def _move(item: LookupItem, step: int) -> dict:
    rows = items(item.list_name)
    i = rows.index(item)
    j = i + step
    if 0 <= j < len(rows):
        rows[i], rows[j] = rows[j], rows[i]
    for pos, it in enumerate(rows):
        it.position = pos
    return {"position": (i, rows.index(item))}


def _rename(item: LookupItem, name: str | None) -> dict:
    if not name:
        raise RuleError("Enter the new name", field="name")
    if len(name) > 200:
        raise RuleError("The name must be 200 characters or fewer", field="name")
    if db.session.scalar(select(LookupItem.id).where(
            LookupItem.list_name == item.list_name, LookupItem.id != item.id,
            func.lower(LookupItem.name) == name.lower())):
        raise RuleError(f"“{name}” is already in the list", field="name")
    return audit.diff(item, {"name": name})


def actions(item: LookupItem) -> set[str]:
    """What can be done to this item (flags and mailboxes only on lists that have them)."""
    allowed = {"rename", "retire", "restore", "up", "down"}
    if item.list_name in LIST_FLAGS:
        allowed |= {"flag", "unflag"}
    if item.list_name in MAILBOX_LISTS:
        allowed.add("mailbox")
    return allowed


def change_item(item: LookupItem, action: str, name: str | None, mailbox: str | None,
                actor: User) -> None:
    """Rename, move up/down, retire or restore, flag or unflag, or set the mailbox of an
    item (one of `actions(item)`; old records keep it)."""
    if action == "rename":
        changes = _rename(item, name)
    elif action in ("retire", "restore"):
        changes = audit.diff(item, {"retired": action == "retire"})
    elif action in ("up", "down"):
        changes = _move(item, -1 if action == "up" else 1)
    elif action in ("flag", "unflag"):
        changes = audit.diff(item, {LIST_FLAGS[item.list_name][0]: action == "flag"})
    else:
        changes = audit.diff(item, {"mailbox": checked_mailbox(mailbox)})
    audit.record(actor, "update", "lookup", item.id, changes=changes)


def add_response_field(item: LookupItem, name: str, kind: str, choices: str | None,
                       required: bool, actor: User) -> ResponseTypeField:
    """Ask for one more field on a Local Response Type (the form has checked the values)."""
    f = ResponseTypeField(response_type_id=item.id, name=name, kind=kind, choices=choices,
                          required=required, position=len(fields_for(item.id)))
    db.session.add(f)
    db.session.flush()
    audit.record(actor, "create", "response type field", f.id,
                 changes={f"{item.name} field": (None, f"{name} ({kind})")})
    return f


def set_field_required(f: ResponseTypeField, required: bool, actor: User) -> None:
    """Mark an extra field required (a referral without it is refused at that field) or
    optional again (the default: the guide says these fields are not mandatory)."""
    changes = audit.diff(f, {"required": required})
    audit.record(actor, "update", "response type field", f.id,
                 changes={f"{f.name} required": v for v in changes.values()})
