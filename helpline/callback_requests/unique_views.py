"""Functionally Unique call backs: the proforma page on a case, and marking one done."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import audit, submissions
from ..auth.forms import EmptyForm
from ..auth.guard import staff_required
from ..cases.models import Case
from ..contacts import services as contact_services
from ..extensions import db
from ..rules import commit_change
from . import bp, unique
from .forms import UniqueForm
from .models import UniqueCallBack


def _case_for_staff(case: Case) -> Case:
    if not contact_services.is_verified(case.caller, current_user, session.get("sid")):
        abort(403, description="Verify the caller on the contact page first.")
    return case


def _case_link(case: Case) -> str:
    return current_app.config["BASE_URL"] + url_for("cases.show", case_id=case.id)


def _send_once(case: Case, proforma: unique.Proforma, token: str) -> UniqueCallBack:
    """Send the proforma and remember the form's token with it (same transaction)."""
    fu = unique.send(case, proforma, current_user, _case_link(case))
    submissions.remember(token, "unique call back", fu.id)
    return fu


@bp.route("/unique/new/<int:case_id>", methods=["GET", "POST"])
@staff_required
def unique_new(case_id: int):
    """Functionally Unique Callback Proforma: sent to the chosen specialist team."""
    case = _case_for_staff(db.get_or_404(Case, case_id))
    form = UniqueForm()
    form.team_id.choices = [("", "Choose…")] + [(str(t.id), t.name) for t in unique.teams()]
    token = request.form.get("form_token") or submissions.new_token()
    done = submissions.already(request.form.get("form_token"), "unique call back")
    if done:  # a double click: the proforma was sent once
        return redirect(url_for("cases.show", case_id=case.id) + "#unique-callbacks")
    if request.method == "GET":
        form.contact_number.data = case.caller.phone or ""
        audit.viewed(current_user, "case", case.reference, ip=request.remote_addr)
        db.session.commit()
    elif form.validate_on_submit():
        # validated: team_id is digits; the other three are InputRequired (never None)
        proforma = unique.Proforma(int(form.team_id.data or ""), form.contact_number.data or "",
                                   form.time_preferences.data or "", form.reason.data or "")
        try:
            sent = commit_change(_send_once, case, proforma, token, form=form)
        except IntegrityError:  # its twin was saved a moment ago
            db.session.rollback()
            if submissions.already(token, "unique call back") is None:
                raise
            return redirect(url_for("cases.show", case_id=case.id) + "#unique-callbacks")
        if sent:
            fu = sent.value
            assert fu is not None  # a committed Outcome holds what unique.send returned
            flash(f"Proforma sent to {fu.team.name}. It shows on the case until they "
                  "have done the call back.", "success")
            return redirect(url_for("cases.show", case_id=case.id) + "#unique-callbacks")
    return render_template("requests/unique_new.html", form=form, case=case,
                           form_token=token), (422 if form.errors else 200)


@bp.post("/unique/<int:unique_id>/done")
@staff_required
def unique_done(unique_id: int):
    """The specialist team has done the call back: it leaves the case's list."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    fu = db.get_or_404(UniqueCallBack, unique_id)
    _case_for_staff(fu.case)
    unique.mark_done(fu, current_user)
    db.session.commit()
    flash(f"Functionally Unique call back to {fu.team.name} marked done.", "success")
    return redirect(url_for("cases.show", case_id=fu.case_id))


@bp.app_context_processor
def unique_context() -> dict:
    """The case screen lists the case's open Functionally Unique call backs (no query
    unless a page asks)."""
    return {"unique_callbacks_for_case": unique.open_for_case}
