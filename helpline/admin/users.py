"""Admin: create and edit users, reset passwords (never delete)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit
from ..auth import services as auth_services
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required
from ..auth.models import ROLE_LABELS, ROLES, Team, User
from ..extensions import db
from ..rules import RuleError
from . import bp


def _teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create a user."""
    error = error_field = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        try:
            user = auth_services.create_user(
                f.get("email", ""), f.get("name", ""), f.get("role", ""), f.get("password", ""),
                team=f.get("team") or None, actor=current_user,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"])
        except RuleError as exc:
            db.session.rollback()
            error = str(exc)
            error_field = "password" if "password" in error.lower() else "name"
        else:
            user.frontline_operator = bool(f.get("frontline_operator"))
            user.data_lead = bool(f.get("data_lead"))
            db.session.commit()
            flash(f"Created {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", user=None, roles=ROLES, labels=ROLE_LABELS,
                           teams=_teams(), form=EmptyForm(), error=error,
                           error_field=error_field), (422 if error else 200)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    """Edit role, teams, default team, frontline operator, data-team lead, language; or reset
    the password."""
    user = db.get_or_404(User, user_id)
    error = error_field = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        password_problem = f.get("password") and auth_services.passwords.problem(
            f["password"], current_app.config["PASSWORD_MIN_LENGTH"],
            ("helpline", user.email, user.name))
        if f.get("role") not in ROLES or not f.get("name", "").strip():
            error = "Enter a name and choose a role"
        elif password_problem:
            error, error_field = password_problem, "password"
        else:
            chosen = [t for t in _teams() if str(t.id) in f.getlist("teams")]
            default = next((t for t in chosen if str(t.id) == f.get("default_team")), None)
            changes = audit.diff(user, {
                "name": f["name"].strip(), "role": f["role"],
                "frontline_operator": bool(f.get("frontline_operator")),
                "data_lead": bool(f.get("data_lead")),
                "language": f.get("language") or "English (UK)",
                "default_team_id": default.id if default else None})
            before = ", ".join(t.name for t in user.teams)
            user.teams = chosen
            after = ", ".join(t.name for t in chosen)
            if before != after:
                changes["teams"] = (before, after)
            audit.record(current_user, "update", "user", user.id, changes=changes)
            if f.get("password"):  # temporary: the user chooses their own at next sign-in
                auth_services.set_password(user, f["password"], current_user,
                                           current_app.config["PASSWORD_MIN_LENGTH"])
            db.session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", user=user, roles=ROLES, labels=ROLE_LABELS,
                           teams=_teams(), form=EmptyForm(), error=error,
                           error_field=error_field), (422 if error else 200)


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
