"""Morning Review page: supervisors and the morning reviewers an administrator names."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, cast

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import RoleCheckedView
from ..extensions import db
from . import bp
from . import morning_review as review

SHOWN = 50


def reviewer_required(view: Callable) -> RoleCheckedView:
    """Supervisors, and users an administrator marked as morning reviewers (any role)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.reviews_mornings:
            abort(403, description=(
                "The Morning Review is for supervisors and morning reviewers. Ask an "
                "administrator to mark you as a morning reviewer if you check it."))
        return view(*args, **kwargs)

    checked = cast(RoleCheckedView, wrapped)
    # the route matrix knows roles: by role, supervisors (a flagged user of any role too)
    checked.allowed_roles = ("supervisor",)
    return checked


MAX_PAGE = 100_000  # a page number past every list (a longer one overflows the database)


def _page_of(slug: str) -> int:
    return min(max(request.args.get(slug, 1, type=int) or 1, 1), MAX_PAGE)


@bp.get("/")
@reviewer_required
def morning_review():
    """Every flagged item nobody has marked reviewed, grouped, oldest first, paged."""
    counts = review.counts(current_user)
    groups: list[dict[str, Any]] = []
    for group in review.GROUPS:
        total = counts[group.slug]
        if not total:
            continue
        number = min(_page_of(group.slug), -(-total // SHOWN))
        rows = review.page(current_user, group.slug, (number - 1) * SHOWN, SHOWN)
        groups.append({"slug": group.slug, "label": group.label, "rows": rows,
                       "total": total, "page": number, "pages": -(-total // SHOWN),
                       "first": (number - 1) * SHOWN + 1})
    # titles and details can name callers: log which items were shown (by key, not text)
    audit.viewed_list(current_user, "morning review",
                      [i.key for g in groups for i in g["rows"]], ip=request.remote_addr)
    db.session.commit()
    return render_template("supervisor/review.html", groups=groups, form=EmptyForm(),
                           total=sum(counts.values()), args=request.args.to_dict())


@bp.post("/review/<key>")
@reviewer_required
def mark_reviewed(key: str):
    """Mark reviewed: gone from the list for everyone. Only an item on the reviewer's list
    now can be marked (a key for something not flagged, or not there yet, is not found)."""
    if not review.is_open(current_user, key):
        abort(404)
    if EmptyForm().validate_on_submit():
        review.mark_reviewed(key, current_user)
        db.session.commit()
        flash("Marked reviewed.", "success")
    # back to the same pages of the groups
    pages: dict[str, Any] = {g.slug: _page_of(g.slug) for g in review.GROUPS
                             if request.args.get(g.slug, type=int)}
    return redirect(url_for("supervisor.morning_review", **pages))
