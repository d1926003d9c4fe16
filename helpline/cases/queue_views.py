"""The case queues' pages: My cases, Assigned to me, My team's cases, Sent back to me.
Plain links and a GET form (sort, filter, page): keyboard friendly, no JavaScript needed."""
from __future__ import annotations

from datetime import date

from flask import abort, render_template, request
from flask_login import current_user

from .. import audit
from ..auth.guard import staff_required
from ..extensions import db
from . import bp, queues
from .models import STATUSES

PER_PAGE = 50


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _filters() -> queues.Filters:
    status = request.args.get("status")
    return queues.Filters(status=status if status in STATUSES else None, since=_date("since"),
                          until=_date("until"), sort=request.args.get("sort"),
                          descending=request.args.get("dir") == "desc")


@bp.get("/queues/<name>")
@staff_required
def queue(name: str):
    """One queue, 50 a page; the listing is a view of the cases shown (audited)."""
    if name not in queues.QUEUES:
        abort(404)
    f = _filters()
    page = db.paginate(queues.query(db.session, current_user, name, f),
                       page=request.args.get("page", 1, type=int), per_page=PER_PAGE,
                       error_out=False)
    cases = list(page.items)
    reasons = queues.send_back_reasons(db.session, cases) if name == "sent-back" else {}
    audit.viewed_list(current_user, "case", [c.reference for c in cases],
                      ip=request.remote_addr)
    db.session.commit()  # the titles and callers' names are personal data
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("cases/queue.html", queue=queues.QUEUES[name], cases=cases,
                           page=page, reasons=reasons, all_queues=queues.QUEUES.values(), statuses=STATUSES, args=args, f=f)
