"""Morning Review page."""
from __future__ import annotations

from itertools import groupby

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import supervisor_required
from ..extensions import db
from ..timeutil import london_format
from . import bp
from . import morning_review as review

SHOWN = 100
GROUP_ORDER = ["Assigned to you", "Complaints", "Emergency interventions",
               "Call backs required", "Overdue call backs", "Safeguarding activated"]


def _since():
    return review.window_start(current_app.config["SHIFT_STARTS"])


@bp.get("/")
@supervisor_required
def morning_review():
    """Everything flagged since the start of the previous shift, grouped, newest first."""
    since = _since()
    found = sorted(review.items(current_user, since),
                   key=lambda i: (GROUP_ORDER.index(i.group), -i.at.timestamp()))
    # the newest SHOWN of each group on the page (a busy night must not make a 3 MB page)
    groups = [(g, rows[:SHOWN], len(rows)) for g, rows in
              ((g, list(rows)) for g, rows in groupby(found, key=lambda i: i.group))]
    # titles and details can name callers: log which items were shown (by key, not text)
    audit.viewed_list(current_user, "morning review", [i.key for _, rows, _ in groups
                                                       for i in rows], ip=request.remote_addr)
    db.session.commit()
    return render_template("supervisor/review.html", groups=groups, form=EmptyForm(),
                           since=london_format(since), total=len(found))


@bp.post("/review/<key>")
@supervisor_required
def mark_reviewed(key: str):
    """Mark reviewed: gone from the list for everyone."""
    if EmptyForm().validate_on_submit():
        review.mark_reviewed(key, current_user)
        db.session.commit()
        flash("Marked reviewed.", "success")
    return redirect(url_for("supervisor.morning_review"))
