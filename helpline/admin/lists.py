"""Admin: lookup lists (add, rename, reorder, retire, flags, mailboxes) and response-type
extra fields."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from govuk_frontend_wtf.main import wtforms_errors

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required
from ..extensions import db
from ..lookups import services as lookups
from ..lookups.models import (
    LIST_FLAGS,
    LISTS,
    MAILBOX_LISTS,
    LookupItem,
    ResponseTypeField,
    fields_for,
)
from ..rules import commit_change
from . import bp
from .forms import AddItemForm, ChangeItemForm, ResponseFieldForm


def _list_or_404(list_name: str) -> str:
    if list_name not in LISTS:
        abort(404, description="There is no such list.")
    return list_name


@bp.get("/lists/")
@admin_required
def lists():
    """Every lookup list."""
    return render_template("admin/lists.html", lists=LISTS)


def _page(list_name: str, add_form: AddItemForm | None = None,
          failed_id: int | None = None, failed_form: ChangeItemForm | None = None):
    """One list's page; a refused add or change (of item `failed_id`) shows its message at
    the field."""
    add_form = add_form or AddItemForm(formdata=None)
    summary = wtforms_errors(add_form)["errorList"]
    if failed_form:
        summary += [{"text": e, "href": f"#{key}-{failed_id}"}
                    for key in ("name", "mailbox") for e in failed_form[key].errors]
    return render_template("admin/list_items.html", list_name=list_name,
                           label=LISTS[list_name], items=lookups.items(list_name),
                           form=failed_form or add_form, add_form=add_form,
                           failed_id=failed_id, failed_form=failed_form, summary=summary, flag=LIST_FLAGS.get(list_name),
                           has_mailbox=list_name in MAILBOX_LISTS), (422 if summary else 200)


@bp.get("/lists/<list_name>")
@admin_required
def list_items(list_name: str):
    """One list's items, in order; retired ones shown greyed."""
    return _page(_list_or_404(list_name))


def _back(list_name: str):
    return redirect(url_for("admin.list_items", list_name=list_name))


@bp.post("/lists/<list_name>/add")
@admin_required
def add_item(list_name: str):
    """Add an item at the end."""
    _list_or_404(list_name)
    form = AddItemForm()
    if form.validate_on_submit():
        added = commit_change(lookups.add_item, list_name, form.name.data, form.mailbox.data,
                              current_user, form=form)
        if added:
            assert added.value is not None  # committed: add_item returned the item
            flash(f"Added “{added.value.name}”.", "success")
            return _back(list_name)
    return _page(list_name, add_form=form)


@bp.post("/lists/items/<int:item_id>")
@admin_required
def change_item(item_id: int):
    """Rename, move up/down, retire or restore an item (old records keep it)."""
    item = db.get_or_404(LookupItem, item_id)
    form = ChangeItemForm()
    if not form.validate_on_submit() or form.action.data not in lookups.actions(item):
        abort(400)
    changed = commit_change(lookups.change_item, item, form.action.data, form.name.data,
                            form.mailbox.data, current_user, form=form)
    if not changed:
        return _page(item.list_name, failed_id=item_id, failed_form=form)
    return _back(item.list_name)


@bp.route("/lists/response-types/<int:item_id>/fields", methods=["GET", "POST"])
@admin_required
def response_fields(item_id: int):
    """The extra fields a Local Response Type carries."""
    item = db.session.get(LookupItem, item_id)
    if item is None or item.list_name != "local_response_type":
        abort(404)
    form = ResponseFieldForm()
    if form.validate_on_submit():
        added = commit_change(lookups.add_response_field, item, form.name.data, form.kind.data,
                              form.choices.data or None, form.required.data, current_user,
                              form=form)
        if added:
            flash(f"Added the field “{form.name.data}” to {item.name}.", "success")
            return redirect(url_for("admin.response_fields", item_id=item.id))
    return render_template("admin/response_fields.html", item=item, fields=fields_for(item.id),
                           form=form, remove_form=EmptyForm()), (422 if form.errors else 200)


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


@bp.post("/lists/response-fields/<int:field_id>/required")
@admin_required
def field_required(field_id: int):
    """Mark an extra field required, or optional again (audited)."""
    f = db.get_or_404(ResponseTypeField, field_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    required = request.form.get("required") == "yes"
    commit_change(lookups.set_field_required, f, required, current_user)
    flash(f"{f.name} is now {'required' if required else 'optional'}.", "success")
    return redirect(url_for("admin.response_fields", item_id=f.response_type_id))
