"""Admin: create and edit users, reset passwords (never delete)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit
from ..auth import services as auth_services
from ..auth.forms import EmptyForm
from ..auth.models import ROLE_LABELS, ROLES, Team, User
from ..extensions import db
from . import bp
from .views import admin_required


def _teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create a user."""
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        try:
            user = auth_services.create_user(f.get("email", ""), f.get("name", ""),
                                             f.get("role", ""), f.get("password", ""),
                                             team=f.get("team") or None, actor=current_user)
        except auth_services.UserError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            user.frontline_operator = bool(f.get("frontline_operator"))
            user.data_lead = bool(f.get("data_lead"))
            db.session.commit()
            flash(f"Created {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", user=None, roles=ROLES, labels=ROLE_LABELS,
                           teams=_teams(), form=EmptyForm(), error=error), (422 if error else 200)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    """Edit role, teams, default team, frontline operator, data-team lead, language; or reset
    the password."""
    user = db.get_or_404(User, user_id)
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        if f.get("role") not in ROLES or not f.get("name", "").strip():
            error = "Enter a name and choose a role"
        elif f.get("password") and len(f["password"]) < 8:
            error = "The new password must be at least 8 characters"
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
            if f.get("password"):
                user.password_hash = auth_services.hash_password(f["password"])
                changes["password"] = ("(hidden)", "reset")
                auth_services.end_all_sessions(user, "password reset", current_user)
            audit.record(current_user, "update", "user", user.id, changes=changes)
            db.session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", user=user, roles=ROLES, labels=ROLE_LABELS,
                           teams=_teams(), form=EmptyForm(), error=error), (422 if error else 200)
