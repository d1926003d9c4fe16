"""Admin pages (role admin)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from rq.registry import FailedJobRegistry
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth import services as auth_services
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required
from ..auth.models import User
from ..catcher import read_messages
from ..extensions import db
from ..jobs import get_queue
from ..mailer import OutboxMail, resend
from ..numbers import whole_number
from . import bp


@bp.get("/")
@admin_required
def index():
    """Admin home."""
    return render_template("admin/index.html")


@bp.get("/users")
@admin_required
def users():
    """Users, active first, 50 a page; found by part of a name or login (2,000 users on one
    page were 384 KB of HTML)."""
    q = (request.args.get("q") or "").strip()[:100]
    stmt = select(User).options(selectinload(User.teams), selectinload(User.default_team))
    if q:
        stmt = stmt.where(or_(func.lower(User.name).contains(q.lower(), autoescape=True),
                              func.lower(User.email).contains(q.lower(), autoescape=True)))
    rows = db.paginate(stmt.order_by(User.active.desc(), User.name, User.id),
                       page=whole_number(request.args.get("page")) or 1, per_page=50,
                       error_out=False)
    return render_template("admin/users.html", users=rows, q=q, form=EmptyForm())


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.post("/users/<int:user_id>/end-sessions")
@admin_required
def end_sessions(user_id: int):
    """End every session of a user (they must sign in again)."""
    user = _user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        n = auth_services.end_all_sessions(user, "ended by administrator", current_user)
        db.session.commit()
        flash(f"Ended {n} session(s) of {user.name}.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active/<int:active>")
@admin_required
def set_active(user_id: int, active: int):
    """Deactivate (never delete) or reactivate a user."""
    user = _user_or_404(user_id)
    if user.id == current_user.id and not active:
        flash("You cannot deactivate yourself.", "error")
    elif EmptyForm().validate_on_submit():
        auth_services.set_active(user, bool(active), current_user)
        db.session.commit()
        flash(f"{user.name} is now {'active' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/mail")
@admin_required
def sent_mail():
    """What the local mail catcher received, and the outbox status."""
    caught = read_messages(current_app.config["MAIL_CATCHER_DIR"])
    outbox = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())
                                     .limit(100)))
    # subjects and bodies can name callers: who looked is audited, as for their records
    audit.viewed_list(current_user, "caught mail", [m["key"] for m in caught],
                      ip=request.remote_addr)
    audit.viewed_list(current_user, "mail", [m.id for m in outbox], ip=request.remote_addr)
    db.session.commit()
    return render_template("admin/mail.html", caught=caught, outbox=outbox)


@bp.get("/mail/<key>")
@admin_required
def show_mail(key: str):
    """One caught message."""
    for msg in read_messages(current_app.config["MAIL_CATCHER_DIR"]):
        if msg["key"] == key:  # a Maildir key can be longer than a record id
            audit.record(current_user, "view", "caught mail", "message",
                         changes={"Key": (None, key)}, ip=request.remote_addr)
            db.session.commit()
            return render_template("admin/mail_show.html", msg=msg)
    abort(404)


@bp.get("/jobs/failed")
@admin_required
def failed_jobs():
    """Mails that could not be sent and jobs that failed, with resend."""
    mails = list(db.session.scalars(select(OutboxMail).where(OutboxMail.status == "failed")
                                    .order_by(OutboxMail.id.desc())))
    audit.viewed_list(current_user, "mail", [m.id for m in mails], ip=request.remote_addr)
    db.session.commit()  # a subject can name the caller
    try:
        registry = FailedJobRegistry(queue=get_queue())
        job_ids = [j for j in (registry.get_job_ids()[:100]) if j]
        found = [get_queue().fetch_job(j) for j in job_ids]
        jobs = [j for j in found if j is not None]
        redis_error = None
    except Exception as exc:
        jobs, redis_error = [], f"{type(exc).__name__}: {exc}"
    return render_template("admin/failed.html", mails=mails, jobs=jobs,
                           redis_error=redis_error, form=EmptyForm())


@bp.post("/mail/outbox/<int:mail_id>/resend")
@admin_required
def resend_mail(mail_id: int):
    """Put a failed mail back in the outbox."""
    row = db.get_or_404(OutboxMail, mail_id)
    if EmptyForm().validate_on_submit():
        resend(row)
        audit.record(current_user, "resend", "mail", row.id)
        db.session.commit()
        flash(f"Mail to {row.to} queued again.", "success")
    return redirect(url_for("admin.failed_jobs"))
