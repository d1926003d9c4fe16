"""Telephony routes: the PBX endpoint, the panel, Missed calls and the admin settings."""
from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.guard import admin_required, passive, signed_in, staff_required
from ..cases import access as case_access
from ..cases.models import Case
from ..contacts import services as contact_services
from ..extensions import csrf, db
from ..htmx import is_htmx
from ..rules import commit_change
from . import bp, pbx, services
from .forms import AddressesForm, CallBackForm, DismissForm, RotateForm
from .models import Call

MAX_BODY = 64 * 1024  # an event is a few hundred bytes


@bp.post("/<token>")
@csrf.exempt  # called by the phone system, never by a browser: the token is the credential
def event(token: str):
    """Zammad generic CTI: newCall | answer | hangup, form-encoded or JSON."""
    if not services.token_matches(token) or not services.address_allowed(request.remote_addr):
        abort(404)
    if (request.content_length or 0) > MAX_BODY:
        return jsonify(error=f"the event is larger than {MAX_BODY // 1024} KB"), 413
    try:
        payload = request.get_json(silent=True) if request.is_json else None
    except RecursionError:  # nested deeper than the parser goes: not an event
        return jsonify(error="send the event as a form or a JSON object"), 400
    if payload is None:
        payload = {k: (v if len(v) > 1 or k.endswith("[]") else v[0])
                   for k, v in request.form.lists()}
    if not isinstance(payload, dict):
        return jsonify(error="send the event as a form or a JSON object"), 400
    try:
        status, message = pbx.handle(pbx.parse(payload))
        db.session.commit()
    except pbx.BadEvent as exc:
        db.session.rollback()
        return jsonify(error=str(exc)), exc.status
    except IntegrityError:  # the same newCall at the same moment: the other one saved it
        db.session.rollback()
        return jsonify(message="duplicate newCall ignored"), 200
    return jsonify(message=message), status


@bp.get("/panel")
@passive  # fetched because a call rang, not because the user did anything
@signed_in
def panel():
    """The incoming-call panel of the signed-in user (a fragment for every page)."""
    calls = services.panel_for(current_user)
    _audit_names(calls)
    db.session.commit()
    return render_template("telephony/_panel.html", panel_calls=calls,
                           dismiss_form=DismissForm())


def _audit_names(calls) -> None:
    shown = [m.contact.id for pc in calls for m in pc.matches]
    audit.viewed_list(current_user, "contact", shown, ip=request.remote_addr)


@bp.post("/calls/<int:call_id>/dismiss")
@signed_in
def dismiss(call_id: int):
    """Close the panel of a call this user answered."""
    call = db.get_or_404(Call, call_id)
    if DismissForm().validate_on_submit():
        commit_change(services.dismiss, call, current_user)
    if is_htmx():
        return panel()
    return redirect(request.referrer or url_for("telephony.missed"))


@bp.get("/missed")
@staff_required
def missed():
    """Missed calls: incoming calls nobody answered, each with Create call back."""
    calls = services.missed_calls(current_user)
    audit.viewed_list(current_user, "call", [c.id for c in calls], ip=request.remote_addr)
    db.session.commit()
    return render_template("telephony/missed.html", calls=calls, form=CallBackForm())


def _may_own(case: Case) -> bool:
    """Whether the clicker may raise a call back on this case themselves (as on
    /callbacks/new): the work is theirs (not a view-only hand-over), or they verified the
    caller in this session."""
    found = case_access.owner_access(case, current_user)
    if found is not None:
        return not found.view_only
    return contact_services.is_verified(case.caller, current_user, session.get("sid"))


def _request_link(req) -> str:
    return url_for("requests.show", request_id=req.id)


@bp.post("/missed/<int:call_id>/call-back")
@staff_required
def call_back(call_id: int):
    """One click: a call back (matched caller's open case) or a call-back request."""
    call = services.missed_call_for(call_id, current_user)
    if call is None:
        abort(404, description="There is no call with that number.")
    form = CallBackForm()
    if form.validate_on_submit():
        done = commit_change(services.call_back, call, current_user, _request_link,
                             current_app.config["BASE_URL"],
                             current_app.config["MP_ENQUIRIES_EMAIL"], _may_own, form=form)
        if done:
            flash(f"Created {done.value} for the missed call from {call.shown_number}.",
                  "success")
    return redirect(url_for("telephony.missed"))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    """Admin: the endpoint URL, a new token, and the allowed addresses."""
    rotate, addresses = RotateForm(prefix="rotate"), AddressesForm(prefix="addr")
    new_token = None
    if rotate.submit.data and rotate.validate_on_submit():
        done = commit_change(services.rotate_token, current_user)
        new_token = done.value if done else None
    elif addresses.submit.data and addresses.validate_on_submit():
        if commit_change(services.set_allowed_addresses, addresses.addresses.data or "",
                         current_user, form=addresses):
            flash("Allowed addresses saved.", "success")
            return redirect(url_for("telephony.settings"))
    if request.method == "GET":
        addresses.addresses.data = services.allowed_addresses()
    status = 422 if rotate.errors or addresses.errors else 200
    return render_template("telephony/settings.html", rotate=rotate, form=addresses,
                           new_token=new_token, has_token=services.has_token()), status
