"""Admin: create and edit users, reset passwords (never delete)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth import services as auth_services
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required
from ..auth.models import Team, User
from ..extensions import db
from ..rules import commit_change
from . import bp, services
from .forms import PASSWORD_HINT, EditUserForm, NewUserForm, UserForm


def _teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def _page(form: UserForm, user: User | None):
    return render_template("admin/user_form.html", user=user, form=form,
                           password_hint=PASSWORD_HINT.format(
                               n=current_app.config["PASSWORD_MIN_LENGTH"])), \
        (422 if form.errors else 200)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create a user."""
    form = NewUserForm()
    form.team.choices = [("", "None")] + [(t.name, t.name) for t in _teams()]
    if form.validate_on_submit():
        made = commit_change(services.create_user, form.data, current_user,
                             current_app.config["PASSWORD_MIN_LENGTH"], form=form)
        if made:
            assert made.value is not None  # committed: create_user returned the user
            flash(f"Created {made.value.name}.", "success")
            return redirect(url_for("admin.users"))
    return _page(form, None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    """Edit role, teams, default team, frontline operator, data-team lead, morning reviewer,
    language; or reset the password."""
    user = db.get_or_404(User, user_id)
    form = EditUserForm(data={
        "name": user.name, "role": user.role, "frontline_operator": user.frontline_operator,
        "data_lead": user.data_lead, "morning_reviewer": user.morning_reviewer,
        "language": user.language, "phone_login": user.phone_login or "",
        "teams": [str(t.id) for t in user.teams], "default_team": str(user.default_team_id or "")})
    teams = _teams()
    form.teams.choices = [(str(t.id), t.name) for t in teams]
    form.default_team.choices = [("", "None")] + [(str(t.id), t.name) for t in teams]
    if form.validate_on_submit():
        values = {"name": form.name.data, "role": form.role.data,
                  "frontline_operator": form.frontline_operator.data,
                  "data_lead": form.data_lead.data,
                  "morning_reviewer": bool(form.morning_reviewer.data),
                  "language": form.language.data or "English (UK)",
                  "phone_login": (form.phone_login.data or "").strip() or None}
        saved = commit_change(services.update_user, user, values, form.teams.data or [],
                              form.default_team.data, form.password.data, current_user,
                              current_app.config["PASSWORD_MIN_LENGTH"], form=form)
        if saved:
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return _page(form, user)


@bp.post("/users/<int:user_id>/two-factor/reset")
@admin_required
def reset_two_factor(user_id: int):
    """Clear a user's second factor (lost phone): they set it up again at next sign-in."""
    user = db.get_or_404(User, user_id)
    if EmptyForm().validate_on_submit():
        auth_services.twofactor.reset(user, current_user, reason="reset by an administrator")
        auth_services.end_all_sessions(user, "two-factor reset", current_user)
        db.session.commit()
        flash(f"Reset the second factor of {user.name}: they set it up again when they next "
              "sign in.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))
