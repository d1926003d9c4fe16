"""Downtime applications: the attached paper form (steps 27–28) and the clerical letters
CMSL0077 and CMSL0080 after unsuccessful calls (step 34)."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from .. import audit
from ..auth.guard import staff_required
from ..extensions import db
from ..rules import commit_change
from ..timeutil import london_format, to_london, utcnow
from . import attachments, bp, services
from .forms import AttachForm
from .views import _forms, page, visible_request

FEE_DAYS = 14


@bp.post("/<int:request_id>/paper-form")
@staff_required
def attach(request_id: int):
    """Attach the completed offline template (PDF or image; type checked by content)."""
    req = visible_request(request_id)
    max_bytes = current_app.config["ATTACHMENT_MAX_BYTES"]
    # a huge upload is cut off before it is read; a merely large one gets the field message
    request.max_content_length = max_bytes * 4 + 64 * 1024
    forms = _forms(req)
    form: AttachForm = forms["attach"]
    if form.validate_on_submit():
        upload = form.attachment.data
        done = commit_change(attachments.attach, req, getattr(upload, "filename", None),
                             getattr(upload, "stream", None), current_user,
                             current_app.config["ATTACHMENT_DIR"], max_bytes)
        if not done:
            form.attachment.errors.append(done.message)
            return page(req, forms, 422)
        flash(f"Completed paper form “{req.attachment_name}” attached.", "success")
        return redirect(url_for("requests.show", request_id=req.id))
    return page(req, forms, 422)


@bp.get("/<int:request_id>/paper-form")
@staff_required
def paper_form(request_id: int):
    """The attached form, for staff who may see the request; never cached; audited."""
    req = visible_request(request_id)
    path = attachments.path_of(req, current_app.config["ATTACHMENT_DIR"])
    if path is None:
        abort(404, description="No completed paper form is attached to this request.")
    audit.viewed(current_user, "call-back request paper form", req.id, ip=request.remote_addr)
    db.session.commit()
    resp = send_file(path, mimetype=req.attachment_type, as_attachment=False,
                     download_name=attachments.download_name(req), conditional=False,
                     etag=False, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/<int:request_id>/letters")
@staff_required
def letters(request_id: int):
    """Clerical letters CMSL0077 and CMSL0080, filled from the request, ready to print."""
    req = visible_request(request_id)
    if not services.needs_letters(req):
        abort(404, description="The clerical letters are for downtime applications whose "
                               "calls ended unsuccessfully.")
    audit.viewed(current_user, "call-back request letters", req.id, ip=request.remote_addr)
    db.session.commit()
    today = to_london(utcnow()).date()
    attempts = [london_format(a.made_at) for a in req.attempts]
    return render_template("requests/letters.html", req=req, today=today,
                           pay_by=today + timedelta(days=FEE_DAYS), fee_days=FEE_DAYS,
                           attempts=attempts)
