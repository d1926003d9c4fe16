"""Admin → Settings: the service name, the consent statement and who can help with
sign-in (helpline/site_settings.py). Every change is audited with before and after."""
from __future__ import annotations

from functools import partial
from typing import Mapping

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from sqlalchemy import select
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import audit, site_settings
from ..auth.guard import admin_required
from ..auth.models import User
from ..extensions import db
from ..site_settings import SPECS, Setting
from ..timeutil import utcnow
from . import bp


def _field(key: str):
    spec = SPECS[key]
    kind, widget = (TextAreaField, GovTextArea()) if spec.multiline else (StringField,
                                                                          GovTextInput())
    return kind(spec.label, widget=widget, filters=[partial(site_settings.clean, key)],
                description=spec.hint, validators=[
                    DataRequired(message=f"Enter the {spec.label.lower()}"),
                    Length(max=spec.max_length, message=(
                        f"{spec.label} must be {spec.max_length} characters or fewer"))])


class SettingsForm(FlaskForm):
    """Every setting on one form: a field left empty is refused, the others keep what
    was typed."""

    service_name = _field("service_name")
    consent_statement = _field("consent_statement")
    account_help = _field("account_help")
    # what each text was when the page was opened (see `settings`)
    loaded_service_name = HiddenField()
    loaded_consent_statement = HiddenField()
    loaded_account_help = HiddenField()
    submit = SubmitField("Save settings", widget=GovSubmitInput())


class ResetForm(FlaskForm):
    """Put one setting back to its default."""

    key = HiddenField()
    submit = SubmitField("Reset to default", widget=GovSubmitInput())


def _stored_rows() -> dict[str, Setting]:
    return {row.key: row for row in db.session.scalars(select(Setting))}


def save(values: Mapping[str, str], actor: User) -> dict[str, tuple[str, str]]:
    """Store the values that changed; a value equal to the default removes the row, so
    the setting follows its default again. Audited per setting; never commits."""
    rows, changed = _stored_rows(), {}
    for key, value in values.items():
        spec, row = SPECS[key], rows.get(key)
        before = row.value if row else spec.default()
        if value == before:
            continue
        if value == spec.default():
            db.session.delete(row)
        elif row is None:
            db.session.add(Setting(key=key, value=value, updated_by_id=actor.id))
        else:
            row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
        audit.record(actor, "update", "setting", key, changes={spec.label: (before, value)})
        changed[key] = (before, value)
    return changed


def reset(key: str, actor: User) -> bool:
    """Put a setting back to its default (audited); False if it already had it."""
    row = _stored_rows().get(key)
    if row is None:
        return False
    spec = SPECS[key]
    audit.record(actor, "reset", "setting", key,
                 changes={spec.label: (row.value, spec.default())}, reason="Reset to default")
    db.session.delete(row)
    return True


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    """Edit the service name, consent statement and who can help with sign-in."""
    site_settings.invalidate()  # the values as stored now, not as this process last read
    current = {key: site_settings.get(key) for key in SPECS}
    form = SettingsForm(data=current)
    # what the form showed when it was opened: only what this administrator edited is
    # saved, and an edit of a text someone else changed meanwhile is held back
    loaded = {key: current[key] if form[f"loaded_{key}"].data is None
              else form[f"loaded_{key}"].data for key in SPECS}
    if form.validate_on_submit():
        edited = {key: form[key].data for key in SPECS
                  if form[key].data != site_settings.clean(key, loaded[key])}
        for key in edited:
            if current[key] != site_settings.clean(key, loaded[key]):
                now = current[key] if len(current[key]) <= 80 else current[key][:77] + "..."
                form[key].errors.append(
                    f"Someone else changed the {SPECS[key].label.lower()} after you opened "
                    f"this page, to \u201c{now}\u201d. Save again to replace it with yours.")
                loaded[key] = current[key]
        if not form.errors:
            changed = save(edited, current_user)
            db.session.commit()
            site_settings.invalidate()
            labels = ", ".join(SPECS[k].label for k in changed)
            flash(f"Saved: {labels}." if changed else "Nothing was changed.", "success")
            return redirect(url_for("admin.settings"))
    rows = _stored_rows()
    return render_template("admin/settings.html", form=form, specs=SPECS, stored=rows,
                           loaded=loaded, reset_form=ResetForm()), (422 if form.errors else 200)


@bp.post("/settings/reset")
@admin_required
def reset_setting():
    """Put one setting back to its default."""
    form = ResetForm()
    if not form.validate_on_submit():
        abort(400)
    key = form.key.data or ""
    if key not in SPECS:
        abort(404, description="There is no such setting.")
    if reset(key, current_user):
        db.session.commit()
        site_settings.invalidate()
        flash(f"{SPECS[key].label} is back to its default.", "success")
    return redirect(url_for("admin.settings"))
