"""The case queues' pages: My cases, Assigned to me, My team's cases, Sent back to me.
Plain links and a GET form (sort, filter, page): keyboard friendly, no JavaScript needed."""
from __future__ import annotations

from datetime import date

from flask import abort, render_template, request
from flask_login import current_user

from .. import audit
from ..auth.guard import staff_required
from ..extensions import db
from ..numbers import MAX_ID, whole_number
from . import bp, queues
from .models import STATUSES

PER_PAGE = 50
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # the dates a filter may name
DATE_LABELS = {"since": "Created from", "until": "Created to"}


def _date(name: str, errors: dict[str, str]) -> date | None:
    """A filter date; one that is not a date, or out of range, is a message at its field
    (and filters nothing)."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{DATE_LABELS[name]} must be a real date, for example 31/12/2026"
        return None
    if not EARLIEST <= value <= LATEST:
        errors[name] = (f"{DATE_LABELS[name]} must be between {EARLIEST:%d/%m/%Y} and "
                        f"{LATEST:%d/%m/%Y}")
        return None
    return value


def _filters(errors: dict[str, str]) -> queues.Filters:
    status = request.args.get("status")
    return queues.Filters(status=status if status in STATUSES else None,
                          since=_date("since", errors), until=_date("until", errors),
                          sort=request.args.get("sort"),
                          descending=request.args.get("dir") == "desc")


def _page_number() -> int:
    """The page asked for: 1 unless a whole number a database can page to."""
    return max(whole_number(request.args.get("page"), upper=MAX_ID // PER_PAGE) or 1, 1)


@bp.get("/queues/<name>")
@staff_required
def queue(name: str):
    """One queue, 50 a page; the listing is a view of the cases shown (audited)."""
    if name not in queues.QUEUES:
        abort(404)
    errors: dict[str, str] = {}
    f = _filters(errors)
    stmt = queues.query(db.session, current_user, name, f)
    page = db.paginate(stmt, page=_page_number(), per_page=PER_PAGE, error_out=False)
    if page.pages and page.page > page.pages:  # past the end: the last page
        page = db.paginate(stmt, page=page.pages, per_page=PER_PAGE, error_out=False)
    cases = list(page.items)
    reasons = queues.send_back_reasons(db.session, cases) if name == "sent-back" else {}
    audit.viewed_list(current_user, "case", [c.reference for c in cases],
                      ip=request.remote_addr)
    db.session.commit()  # the titles and callers' names are personal data
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("cases/queue.html", queue=queues.QUEUES[name], cases=cases,
                           page=page, reasons=reasons, all_queues=queues.QUEUES.values(), statuses=STATUSES, args=args, f=f,
                           errors=errors)
