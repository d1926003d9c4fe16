"""Supervisor dashboard figures (today / this week) and the audit trail viewer."""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Response, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response as BaseResponse

from .. import audit
from ..audit.models import AuditEntry
from ..auth.guard import supervisor_required
from ..auth.models import User
from ..callbacks.models import OPEN, CallBack
from ..cases.models import Case, Referral
from ..extensions import db
from ..htmx import render
from ..interactions.models import Interaction
from ..lookups.models import LookupItem
from ..timeutil import LONDON, to_london, utcnow
from . import bp


@dataclass
class Figures:
    """What the dashboard shows for one period."""

    label: str
    since: datetime
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    by_method: list[tuple[str, int]] = field(default_factory=list)
    by_direction: list[tuple[str, int]] = field(default_factory=list)
    avg_duration: float | None = None
    callbacks_by_owner: list[tuple[str, int, int]] = field(default_factory=list)
    sla_met: float | None = None
    awaiting_review: int = 0
    safeguarding: int = 0
    referrals: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(self.by_hour)


def period_start(kind: str, now: datetime | None = None) -> datetime:
    """UTC start of today or of this week (Monday), in London time."""
    local = to_london(now or utcnow())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "week":
        start -= timedelta(days=start.weekday())
    return start.astimezone(timezone.utc).replace(tzinfo=None)


def figures(kind: str) -> Figures:
    """Compute the figures for today or this week."""
    since = period_start(kind)
    f = Figures("Today" if kind == "today" else "This week", since)
    rows = db.session.execute(select(Interaction.interaction_date, Interaction.direction,
                                     Interaction.duration_mins, LookupItem.name)
                              .outerjoin(LookupItem, Interaction.method_id == LookupItem.id)
                              .where(Interaction.interaction_date >= since)).all()
    methods: Counter[str] = Counter()
    directions: Counter[str] = Counter()
    durations: list[int] = []
    for when, direction, duration, method in rows:
        f.by_hour[to_london(when).hour] += 1
        methods[method or "Not recorded"] += 1
        directions[direction] += 1
        if duration is not None:
            durations.append(duration)
    f.by_method, f.by_direction = methods.most_common(), directions.most_common()
    f.avg_duration = round(sum(durations) / len(durations), 1) if durations else None
    _callbacks(f, since)
    f.awaiting_review = db.session.scalar(select(func.count(Case.id)).where(
        Case.review_state == "Ready for review")) or 0
    f.safeguarding = db.session.scalar(select(func.count(Case.id)).where(
        Case.safeguarding_activated.is_(True), Case.updated_at >= since)) or 0
    f.referrals = [(t, s, n) for t, s, n in db.session.execute(
        select(LookupItem.name, Referral.status, func.count(Referral.id))
        .join(LookupItem, Referral.response_type_id == LookupItem.id)
        .where(Referral.created_at >= since).group_by(LookupItem.name, Referral.status)
        .order_by(LookupItem.name, Referral.status)).all()]
    return f


def _callbacks(f: Figures, since: datetime) -> None:
    now = utcnow()
    per_owner: dict[str, list[int]] = {}
    for cb in db.session.scalars(select(CallBack).where(CallBack.status.in_(OPEN))):
        name = cb.owner.name if cb.owner else (f"{cb.team.name} queue" if cb.team else "Nobody")
        open_, overdue = per_owner.setdefault(name, [0, 0])
        per_owner[name] = [open_ + 1, overdue + (1 if cb.end_at <= now else 0)]
    f.callbacks_by_owner = sorted(((k, v[0], v[1]) for k, v in per_owner.items()),
                                  key=lambda r: (-r[2], -r[1], r[0]))
    closed = list(db.session.execute(select(CallBack.closed_at, CallBack.end_at).where(
        CallBack.closed_at >= since, CallBack.status == "Done")).all())
    if closed:
        # closed_at >= since leaves out the rows without one
        f.sla_met = round(100 * sum(1 for c, e in closed if c is not None and c <= e)
                          / len(closed))


def bar_chart(values: list[int], width: int = 480, height: int = 120) -> dict[str, Any]:
    """Geometry for a small server-rendered SVG bar chart (no chart library)."""
    top = max(values) or 1
    bar = width / len(values)
    return {"width": width, "height": height, "bars": [
        {"x": round(i * bar, 1), "w": round(bar - 2, 1), "h": round(v / top * (height - 20), 1),
         "y": round(height - 14 - v / top * (height - 20), 1), "v": v, "hour": i}
        for i, v in enumerate(values)]}


@bp.get("/dashboard")
@supervisor_required
def dashboard() -> BaseResponse:
    """Today and this week at a glance; htmx refreshes it every 30 seconds."""
    periods = [figures("today"), figures("week")]
    charts = [bar_chart(p.by_hour) for p in periods]
    return render("supervisor/dashboard.html", "supervisor/_dashboard.html", periods=periods,
                  charts=charts, now=utcnow())


PERIODS = ("today", "week")


def _hour_ranges(kind: str, hour: int) -> list[tuple[datetime, datetime]]:
    """UTC ranges covering London hour `hour` on each day of the period so far."""
    start = to_london(period_start(kind))
    days = 1 if kind == "today" else (to_london(utcnow()).date() - start.date()).days + 1
    out: list[tuple[datetime, datetime]] = []
    for d in range(days):
        local = (start + timedelta(days=d)).replace(hour=hour)
        begin = local.astimezone(timezone.utc).replace(tzinfo=None)
        out.append((begin, begin + timedelta(hours=1)))
    return out


@bp.get("/calls")
@supervisor_required
def calls() -> str:
    """The interactions behind a dashboard figure (period, method, direction, hour)."""
    kind = request.args.get("period", "today")
    if kind not in PERIODS:
        kind = "today"
    method, direction = request.args.get("method", ""), request.args.get("direction", "")
    hour = request.args.get("hour", type=int)
    # clamped: a 30-digit page overflowed the database's integers
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    stmt = (select(Interaction).outerjoin(LookupItem, Interaction.method_id == LookupItem.id)
            .where(Interaction.interaction_date >= period_start(kind)))
    if method == "Not recorded":
        stmt = stmt.where(Interaction.method_id.is_(None))
    elif method:
        stmt = stmt.where(LookupItem.name == method)
    if direction:
        stmt = stmt.where(Interaction.direction == direction)
    if hour is not None and 0 <= hour <= 23:
        stmt = stmt.where(or_(*[Interaction.interaction_date.between(a, b - timedelta(microseconds=1))
                                for a, b in _hour_ranges(kind, hour)]))
    else:
        hour = None
    rows = db.paginate(stmt.order_by(Interaction.interaction_date.desc(), Interaction.id.desc()),
                       page=page, per_page=50, error_out=False)
    return render_template("supervisor/calls.html", rows=rows, kind=kind, method=method,
                           direction=direction, hour=hour)


@bp.get("/dashboard.csv")
@supervisor_required
def dashboard_csv() -> Response:
    """The same figures as CSV."""
    out = io.StringIO()
    w = csv.writer(out)
    training = bool(current_app.config.get("TRAINING"))
    if training:  # a training download is never taken for the live figures
        w.writerow(["TRAINING — practice data only, not real callers"])
    w.writerow(["Period", "Figure", "Key", "Value"])
    for p in (figures("today"), figures("week")):
        for hour, n in enumerate(p.by_hour):
            w.writerow([p.label, "Calls by hour", f"{hour:02d}:00", n])
        for k, n in p.by_method:
            w.writerow([p.label, "Interactions by method", k, n])
        for k, n in p.by_direction:
            w.writerow([p.label, "Interactions by direction", k, n])
        w.writerow([p.label, "Average call duration (mins)", "", p.avg_duration or ""])
        for name, open_, overdue in p.callbacks_by_owner:
            w.writerow([p.label, "Open call backs", name, f"{open_} ({overdue} overdue)"])
        w.writerow([p.label, "SLA met %", "", "" if p.sla_met is None else p.sla_met])
        w.writerow([p.label, "Cases awaiting review", "", p.awaiting_review])
        w.writerow([p.label, "Safeguarding activations", "", p.safeguarding])
        for t, s, n in p.referrals:
            w.writerow([p.label, "Referrals", f"{t} – {s}", n])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename="
                             f"{'TRAINING-' if training else ''}dashboard.csv"})


@bp.get("/audit")
@supervisor_required
def audit_trail() -> str:
    """Audit trail viewer: filter by user, record and date; before/after/reason."""
    args = request.args
    stmt = select(AuditEntry)
    user_id = args.get("user", "")
    if user_id.isascii() and user_id.isdigit() and len(user_id) <= 18 and int(user_id):
        stmt = stmt.where(AuditEntry.actor_id == int(user_id))
    if args.get("record_type"):
        stmt = stmt.where(AuditEntry.record_type == args["record_type"])
    if args.get("record_id"):
        stmt = stmt.where(AuditEntry.record_id == args["record_id"].strip())
    for name, op in (("since", "__ge__"), ("until", "__lt__")):
        try:
            day = datetime.strptime(args.get(name, ""), "%Y-%m-%d")
            if name == "until":
                day += timedelta(days=1)
            utc_day = day.replace(tzinfo=LONDON).astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):  # not a date, or past 9999-12-31
            continue
        stmt = stmt.where(getattr(AuditEntry.at, op)(utc_day))
    entries = list(db.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(300)))
    # before/after values are people's details: log whose records were shown
    audit.viewed_list(current_user, "audit", [f"{e.record_type} {e.record_id}" for e in entries],
                      ip=request.remote_addr)
    db.session.commit()
    users = db.session.scalars(select(User).order_by(User.name)).all()
    types = db.session.scalars(select(AuditEntry.record_type).distinct()).all()
    return render_template("supervisor/audit.html", entries=entries, users=users,
                           types=sorted(types), args=args)
