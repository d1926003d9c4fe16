"""Admin: lookup lists (add, rename, reorder, retire, flags, mailboxes) and response-type
extra fields."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required
from ..extensions import db
from ..lookups.models import (
    FIELD_KINDS,
    LIST_FLAGS,
    LISTS,
    MAILBOX_LISTS,
    LookupItem,
    ResponseTypeField,
    fields_for,
)
from . import bp


def _items(list_name: str) -> list[LookupItem]:
    return list(db.session.scalars(select(LookupItem).where(LookupItem.list_name == list_name)
                                   .order_by(LookupItem.position, LookupItem.id)))


def _list_or_404(list_name: str) -> str:
    if list_name not in LISTS:
        abort(404, description="There is no such list.")
    return list_name


@bp.get("/lists/")
@admin_required
def lists():
    """Every lookup list."""
    return render_template("admin/lists.html", lists=LISTS)


@bp.get("/lists/<list_name>")
@admin_required
def list_items(list_name: str):
    """One list's items, in order; retired ones shown greyed."""
    _list_or_404(list_name)
    return render_template("admin/list_items.html", list_name=list_name,
                           label=LISTS[list_name], items=_items(list_name), form=EmptyForm(),
                           error=request.args.get("error"), flag=LIST_FLAGS.get(list_name),
                           has_mailbox=list_name in MAILBOX_LISTS)


MAILBOX = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _mailbox(value: str | None) -> tuple[str | None, str | None]:
    """(mailbox, error) from what the administrator typed."""
    value = (value or "").strip()
    if not value:
        return None, "Enter the team's mailbox (email address)"
    if len(value) > 254 or not MAILBOX.match(value):
        return None, "Enter the mailbox as an email address, like sars-team@example.org"
    return value, None


def _back(list_name: str, error: str | None = None):
    return redirect(url_for("admin.list_items", list_name=list_name, error=error))


@bp.post("/lists/<list_name>/add")
@admin_required
def add_item(list_name: str):
    """Add an item at the end."""
    _list_or_404(list_name)
    name = (request.form.get("name") or "").strip()
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not name:
        return _back(list_name, "Enter the name of the new item")
    if len(name) > 200:
        return _back(list_name, "The name must be 200 characters or fewer")
    if db.session.scalar(select(LookupItem.id).where(LookupItem.list_name == list_name,
                                                     func.lower(LookupItem.name) == name.lower())):
        return _back(list_name, f"“{name}” is already in the list")
    mailbox = None
    if list_name in MAILBOX_LISTS:
        mailbox, error = _mailbox(request.form.get("mailbox"))
        if error:
            return _back(list_name, error)
    position = (db.session.scalar(select(func.max(LookupItem.position)).where(
        LookupItem.list_name == list_name)) or 0) + 1
    item = LookupItem(list_name=list_name, name=name, position=position, mailbox=mailbox)
    db.session.add(item)
    db.session.flush()
    audit.record(current_user, "create", "lookup", item.id,
                 changes={LISTS[list_name]: (None, name), "mailbox": (None, mailbox)})
    db.session.commit()
    flash(f"Added “{name}”.", "success")
    return _back(list_name)


@bp.post("/lists/items/<int:item_id>")
@admin_required
def change_item(item_id: int):
    """Rename, move up/down, retire or restore an item (old records keep it)."""
    item = db.get_or_404(LookupItem, item_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action == "rename":
        name = (request.form.get("name") or "").strip()
        if not name:
            return _back(item.list_name, "Enter the new name")
        changes = audit.diff(item, {"name": name})
    elif action in ("retire", "restore"):
        changes = audit.diff(item, {"retired": action == "retire"})
    elif action in ("up", "down"):
        changes = _move(item, -1 if action == "up" else 1)
    elif action in ("flag", "unflag") and item.list_name in LIST_FLAGS:
        changes = audit.diff(item, {LIST_FLAGS[item.list_name][0]: action == "flag"})
    elif action == "mailbox" and item.list_name in MAILBOX_LISTS:
        mailbox, error = _mailbox(request.form.get("mailbox"))
        if error:
            return _back(item.list_name, error)
        changes = audit.diff(item, {"mailbox": mailbox})
    else:
        abort(400)
    audit.record(current_user, "update", "lookup", item.id, changes=changes)
    db.session.commit()
    return _back(item.list_name)


def _move(item: LookupItem, step: int) -> dict:
    items = _items(item.list_name)
    i = items.index(item)
    j = i + step
    if 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]
    for pos, it in enumerate(items):
        it.position = pos
    return {"position": (i, items.index(item))}


@bp.route("/lists/response-types/<int:item_id>/fields", methods=["GET", "POST"])
@admin_required
def response_fields(item_id: int):
    """The extra fields a Local Response Type carries."""
    item = db.session.get(LookupItem, item_id)
    if item is None or item.list_name != "local_response_type":
        abort(404)
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        name = (request.form.get("name") or "").strip()
        kind = request.form.get("kind")
        choices = (request.form.get("choices") or "").strip() or None
        if not name:
            error = "Enter the field name"
        elif kind not in FIELD_KINDS:
            error = "Choose the kind of field"
        elif kind == "choice" and not choices:
            error = "Enter the choices, separated by commas"
        else:
            position = len(fields_for(item.id))
            f = ResponseTypeField(response_type_id=item.id, name=name, kind=kind,
                                  choices=choices, required=bool(request.form.get("required")),
                                  position=position)
            db.session.add(f)
            db.session.flush()
            audit.record(current_user, "create", "response type field", f.id,
                         changes={f"{item.name} field": (None, f"{name} ({kind})")})
            db.session.commit()
            flash(f"Added the field “{name}” to {item.name}.", "success")
            return redirect(url_for("admin.response_fields", item_id=item.id))
    return render_template("admin/response_fields.html", item=item, fields=fields_for(item.id),
                           kinds=FIELD_KINDS, form=EmptyForm(), error=error), \
        (422 if error else 200)


@bp.post("/lists/response-fields/<int:field_id>/remove")
@admin_required
def remove_field(field_id: int):
    """Stop asking for a field (values already saved on referrals stay)."""
    f = db.get_or_404(ResponseTypeField, field_id)
    if EmptyForm().validate_on_submit():
        type_id = f.response_type_id
        audit.record(current_user, "delete", "response type field", f.id,
                     changes={"Field": (f.name, None)})
        db.session.delete(f)
        db.session.commit()
        return redirect(url_for("admin.response_fields", item_id=type_id))
    abort(400)
