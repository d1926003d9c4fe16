"""Data team: review queue, accept / send back, exports, subject access, anonymisation."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required, data_team_required, role_required
from ..auth.models import Team
from ..cases.models import READY, Case
from ..contacts.models import Contact
from ..extensions import db
from ..htmx import render
from ..lookups.models import offered
from ..rules import commit_change
from ..timeutil import utcnow
from . import bp, privacy, services
from . import exports as export_jobs
from .models import ExportBatch


@bp.after_request
def never_cached(resp):
    """Review pages and files hold personal data: no browser or proxy may keep them
    (send_file would otherwise say public, max-age one year)."""
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers.pop("Expires", None)
    return resp


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _regions() -> list[str]:
    return list(db.session.scalars(select(Contact.region).distinct().order_by(Contact.region)))


@bp.get("/")
@data_team_required
def queue():
    """Cases Ready for review, oldest first, with filters and counts."""
    args = request.args
    stmt = services.queue_query(args.get("region") or None, args.get("team", type=int),
                                _date("since"), _date("until"), bool(args.get("updated")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    cases = list(db.session.scalars(stmt.limit(200)))
    updated = db.session.scalar(select(func.count(Case.id)).where(
        Case.review_state == READY, Case.updated_since_review.is_(True))) or 0
    audit.viewed_list(current_user, "case", [c.reference for c in cases], ip=request.remote_addr)
    db.session.commit()  # the titles can name the caller
    return render_template("review/queue.html", cases=cases, total=total, updated=updated,
                           regions=_regions(), teams=db.session.scalars(select(Team)).all(),
                           args=args)


@bp.get("/cases/<int:case_id>")
@data_team_required
def case(case_id: int):
    """The whole case read-only, with what changed since its last review."""
    c = db.get_or_404(Case, case_id)
    audit.viewed(current_user, "case", c.reference, ip=request.remote_addr)
    db.session.commit()
    return render_template("review/case.html", case=c, changes=services.changes_since_review(c),
                           checklist=offered("review_checklist"), form=EmptyForm())


def _reviewed_meanwhile(c: Case):
    """Someone else saved the case (another reviewer, at the same moment) while this accept
    or send back was being saved: nothing of it is kept; back to the case to see why."""
    db.session.rollback()
    db.session.refresh(c)
    flash(f"Someone else has just changed {c.reference} (it is now {c.review_state}): "
          "nothing was saved. Check the case and try again if it is still needed.", "error")
    return redirect(url_for("review.case", case_id=c.id))


@bp.post("/cases/<int:case_id>/accept")
@data_team_required
def accept(case_id: int):
    """Accept → review state Accepted (every checklist item ticked)."""
    c = db.get_or_404(Case, case_id)
    if EmptyForm().validate_on_submit():
        try:
            done = commit_change(services.accept, c, request.form.getlist("checklist"),
                                 current_user)
        except StaleDataError:
            return _reviewed_meanwhile(c)
        if not done:
            flash(done.message, "error")
            return redirect(url_for("review.case", case_id=c.id))
        flash(f"{c.reference} accepted.", "success")
    return redirect(url_for("review.queue"))


@bp.post("/cases/<int:case_id>/send-back")
@data_team_required
def send_back(case_id: int):
    """Send back with a comment (the owner is notified)."""
    c = db.get_or_404(Case, case_id)
    if EmptyForm().validate_on_submit():
        try:
            done = commit_change(services.send_back, c, request.form.get("comment", ""),
                                 current_user, url_for("cases.show", case_id=c.id))
        except StaleDataError:
            return _reviewed_meanwhile(c)
        if not done:
            flash(done.message, "error")
            return redirect(url_for("review.case", case_id=c.id))
        flash(f"{c.reference} sent back to {c.owner or 'its owner'}.", "success")
    return redirect(url_for("review.queue"))


@bp.route("/export", methods=["GET", "POST"])
@data_team_required
def export():
    """Choose filters and format; the export runs as a job with a progress bar."""
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        filters: dict[str, str | bool] = {
            k: f[k] for k in ("since", "until", "region", "team_id") if f.get(k)}
        if f.get("not_exported"):
            filters["not_exported"] = True
        started = commit_change(export_jobs.start_export, filters, f.get("fmt", "csv"),
                                bool(f.get("with_personal")), current_user)
        if started:
            assert started.value is not None  # committed: start_export returned the batch
            return redirect(url_for("review.export_status", batch_id=started.value.id))
        error = started.message
    return render_template("review/export.html", regions=_regions(), error=error,
                           teams=db.session.scalars(select(Team)).all(), form=EmptyForm()), \
        (422 if error else 200)


@bp.post("/export/<int:batch_id>/again")
@data_team_required
def export_again(batch_id: int):
    """Start a failed export again: a new batch with the same filters, by whoever asks."""
    old = db.get_or_404(ExportBatch, batch_id)
    if EmptyForm().validate_on_submit():
        started = commit_change(export_jobs.start_export, dict(old.filters), old.fmt,
                                old.with_personal, current_user, again_of=old.id)
        if not started:
            flash(started.message, "error")
            return redirect(url_for("review.export_status", batch_id=old.id))
        assert started.value is not None  # committed: start_export returned the batch
        return redirect(url_for("review.export_status", batch_id=started.value.id))
    return redirect(url_for("review.export_status", batch_id=old.id))


@bp.get("/export/<int:batch_id>")
@data_team_required
def export_status(batch_id: int):
    """Progress of one export (htmx polls the bar until it is done or failed)."""
    batch = db.get_or_404(ExportBatch, batch_id)
    if export_jobs.mark_lost([batch]):  # a lost job is reported, never polled forever
        db.session.commit()
        batch = db.session.get_one(ExportBatch, batch_id)  # batches are never deleted
    return render("review/export_status.html", "review/_progress.html", batch=batch,
                  form=EmptyForm(), failed_message=export_jobs.FAILED_MESSAGE,
                  may_download=export_jobs.may_download(batch, current_user))


@bp.get("/exports")
@data_team_required
def exports():
    """The export log: who, when, filters, rows, hash; downloadable for 30 days."""
    if export_jobs.mark_lost():
        db.session.commit()
    batches = db.session.scalars(select(ExportBatch).order_by(ExportBatch.id.desc()).limit(100))
    return render_template("review/exports.html", batches=list(batches), now=utcnow(),
                           may_download=export_jobs.may_download)


@bp.get("/export/<int:batch_id>/download")
@data_team_required
def download(batch_id: int):
    """Download an export file again (within 30 days): its maker or a data-team lead."""
    batch = db.get_or_404(ExportBatch, batch_id)
    if batch.status == "expired" or (batch.expires_at and batch.expires_at < utcnow()):
        abort(410, description="This export has expired (kept for 30 days).")
    if batch.status != "done" or not batch.file_path:
        abort(404, description="This export is not ready.")
    if not export_jobs.may_download(batch, current_user):
        abort(403, description="Only the person who made this export or a data-team lead can "
                               "download it" + (", and personal data only by the data team."
                                                if batch.with_personal else "."))
    if not Path(batch.file_path).is_file():
        abort(404, description="This export's file is missing: run the export again.")
    audit.record(current_user, "download", "export batch", batch.id,
                 reason=f"{batch.fmt.upper()}{' with personal data' if batch.with_personal else ''}"
                        f"; SHA-256 {batch.sha256}", ip=request.remote_addr)
    db.session.commit()
    return send_file(batch.file_path, as_attachment=True, max_age=0, etag=False,
                     download_name=f"{'TRAINING-' if current_app.config.get('TRAINING') else ''}"
                                   f"helpline-export-{batch.id}.{batch.fmt}")


@bp.route("/subject-access/<int:contact_id>", methods=["GET", "POST"])
@role_required("data", "admin")
def subject_access(contact_id: int):
    """Everything held about one contact, as a ZIP (logged). The page says what it holds;
    the ZIP comes only from the form's POST (a browser never prefetches it) and is never
    cached (shared PCs)."""
    contact = db.get_or_404(Contact, contact_id)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        data = privacy.subject_access(contact, current_user)
        db.session.commit()
        resp = send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                         download_name=f"{'TRAINING-' if current_app.config.get('TRAINING') else ''}"
                                       f"subject-access-contact-{contact.id}.zip", max_age=0)
        resp.headers["Cache-Control"] = "private, no-store"
        resp.headers["Pragma"] = "no-cache"
        return resp
    audit.viewed(current_user, "contact", contact.id, ip=request.remote_addr)
    db.session.commit()
    return render_template("review/subject_access.html", contact=contact, form=form,
                           summary=privacy.erasure_summary(contact))


@bp.route("/anonymise/<int:contact_id>", methods=["GET", "POST"])
@admin_required
def anonymise(contact_id: int):
    """Erase a contact's personal data (irreversible; a reason is required)."""
    contact = db.get_or_404(Contact, contact_id)
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        try:
            privacy.anonymise(contact, request.form.get("reason", ""), current_user)
        except ValueError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(f"Contact {contact_id} anonymised.", "success")
            return redirect(url_for("contacts.show", contact_id=contact_id))
    if request.method == "GET":
        audit.viewed(current_user, "contact", contact.id, ip=request.remote_addr)
        db.session.commit()
    return render_template("review/anonymise.html", contact=contact, form=EmptyForm(),
                           error=error, summary=privacy.erasure_summary(contact)), \
        (422 if error else 200)
