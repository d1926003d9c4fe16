"""Admin: teams (name, shift hours, region served); supervisors are its supervisor members."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.guard import admin_required
from ..auth.models import Team
from ..contacts.postcodes import areas
from ..extensions import db
from ..rules import commit_change
from . import bp, services
from .forms import TeamForm


@bp.route("/teams", methods=["GET", "POST"])
@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@admin_required
def teams(team_id: int | None = None):
    """List teams; add one, or edit the one chosen."""
    team = db.session.get(Team, team_id) if team_id else None
    if team_id and team is None:
        abort(404)
    form = TeamForm(obj=team)
    regions = sorted({a.region for a in areas().values()})
    form.region.choices = [("", "All regions")] + [(r, r) for r in regions]
    if form.validate_on_submit():
        values = {"name": form.name.data, "shift_start": form.shift_start.data or None,
                  "shift_end": form.shift_end.data or None, "region": form.region.data or None}
        saved = commit_change(services.save_team, team, values, current_user, form=form)
        if saved:
            assert saved.value is not None  # committed: save_team returned the team
            flash(f"Saved team {saved.value.name}.", "success")
            return redirect(url_for("admin.teams"))
    rows = db.session.scalars(select(Team).order_by(Team.name)).all()
    return render_template("admin/teams.html", teams=rows, team=team, form=form), \
        (422 if form.errors else 200)
