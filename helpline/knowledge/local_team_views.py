"""Admin → Local teams: the teams accepted Local Referrals are mailed to, by region."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.guard import admin_required
from ..extensions import db
from ..rules import commit_change
from . import bp, services
from .forms import LocalTeamForm
from .models import LocalTeam


@bp.route("/admin/local-teams", methods=["GET", "POST"])
@bp.route("/admin/local-teams/<int:local_team_id>", methods=["GET", "POST"])
@admin_required
def local_teams(local_team_id: int | None = None):
    """Every local team with its mailbox and regions; add one, or change the one chosen."""
    team = db.get_or_404(LocalTeam, local_team_id) if local_team_id else None
    form = LocalTeamForm(obj=team) if request.method == "GET" else LocalTeamForm()
    if request.method == "GET" and team is not None:
        form.regions.data = team.region_names
    form.regions.choices = [(r, r) for r in services.regions()]
    if form.validate_on_submit():
        saved = commit_change(services.save_local_team, team, form.name.data or "",
                              form.mailbox.data or "", list(form.regions.data or []),
                              bool(form.retired.data), current_user, form=form)
        if saved:
            assert saved.value is not None  # committed: save_local_team returned the team
            flash(f"Saved the local team “{saved.value.name}”.", "success")
            return redirect(url_for("knowledge.local_teams"))
    teams = list(db.session.scalars(select(LocalTeam).order_by(LocalTeam.retired,
                                                               LocalTeam.name)))
    served = {r for t in teams if not t.retired for r in t.region_names}
    return render_template("knowledge/local_teams.html", form=form, team=team, teams=teams,
                           unserved=[r for r in services.regions() if r not in served]), \
        (422 if form.errors else 200)
