"""Admin: teams (name, shift hours, region served); supervisors are its supervisor members."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required
from ..auth.models import Team
from ..contacts.postcodes import areas
from ..extensions import db
from . import bp

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _problem(values: dict, team_id: int | None) -> str | None:
    if not values["name"]:
        return "Enter the team name"
    clash = db.session.scalar(select(Team.id).where(func.lower(Team.name) == values["name"].lower()))
    if clash and clash != team_id:
        return f"There is already a team called {values['name']}"
    for key in ("shift_start", "shift_end"):
        if values[key] and not TIME.match(values[key]):
            return "Enter shift times as HH:MM, for example 08:00"
    return None


@bp.route("/teams", methods=["GET", "POST"])
@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@admin_required
def teams(team_id: int | None = None):
    """List teams; add one, or edit the one chosen."""
    team = db.session.get(Team, team_id) if team_id else None
    if team_id and team is None:
        abort(404)
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        values = {"name": (f.get("name") or "").strip(), "shift_start": f.get("shift_start") or None,
                  "shift_end": f.get("shift_end") or None, "region": f.get("region") or None}
        error = _problem(values, team_id)
        if not error:
            if team is None:
                team = Team(**values)
                db.session.add(team)
                db.session.flush()
                audit.record(current_user, "create", "team", team.id,
                             changes={"Name": (None, team.name)})
            else:
                audit.record(current_user, "update", "team", team.id,
                             changes=audit.diff(team, values))
            db.session.commit()
            flash(f"Saved team {team.name}.", "success")
            return redirect(url_for("admin.teams"))
    rows = db.session.scalars(select(Team).order_by(Team.name)).all()
    regions = sorted({a.region for a in areas().values()})
    return render_template("admin/teams.html", teams=rows, team=team, regions=regions,
                           form=EmptyForm(), error=error), (422 if error else 200)
