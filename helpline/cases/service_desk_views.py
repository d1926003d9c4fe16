"""Case routes beyond the main screen: Quick Create a beneficiary, and the service desk
(assign → acknowledge → resolve → close)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import audit, site_settings
from ..auth.forms import EmptyForm
from ..auth.guard import staff_required
from ..contacts import services as contact_services
from ..contacts.forms import quick_create_form
from ..contacts.models import Contact
from ..extensions import db
from ..lookups.models import LookupItem
from ..rules import RuleError, commit_change
from . import access, bp, service_desk
from .forms import AssignForm, CloseForm, OwnerForm, ResolveForm
from .models import REFERRAL_STATUSES, Case
from .screen import CaseScreen


@bp.app_template_global()
def lookup_item_name(item_id: int) -> str:
    """Name of a (possibly retired) lookup item."""
    item = db.session.get(LookupItem, item_id)
    return item.name if item else ""


@bp.app_context_processor
def case_constants() -> dict:
    return {"referral_statuses": REFERRAL_STATUSES}


@bp.route("/quick-create/<int:caller_id>", methods=["GET", "POST"])
@staff_required
def quick_create(caller_id: int):
    """Quick Create a beneficiary inline; the caller provides consent on their behalf."""
    caller = db.get_or_404(Contact, caller_id)
    form = quick_create_form()
    if request.method == "POST" and form.validate():
        beneficiary = contact_services.create_beneficiary(
            form.values(), caller, current_user, session.get("sid"), request.remote_addr)
        db.session.commit()
        return render_template("cases/_beneficiary.html", beneficiary=beneficiary,
                               caller_id=caller.id, form=None, found=[], q="")
    audit.viewed(current_user, "contact", caller.id, ip=request.remote_addr)  # the caller's name
    db.session.commit()
    resp = current_app.make_response(render_template(
        "cases/_quick_create.html", qform=form, caller=caller,
        statement=site_settings.consent_statement()))
    if request.method == "POST":  # show the errors in the panel, not in place of the picker
        resp.headers["HX-Retarget"] = "#quick-create"
        resp.headers["HX-Reswap"] = "innerHTML"
    return resp


def _back(case: Case):
    return redirect(url_for("cases.show", case_id=case.id) + "#service-desk")


def _person_form(case: Case, form, field, slot: str, change, done: str):
    """A desk form naming one person (Assign, Change owner): saved → a message and back to
    the case; refused → the case page with the form in `slot`, its message at the field."""
    field.choices = [(field.data, field.data)]
    if form.validate_on_submit():
        saved = commit_change(change, case, field.data, form=form)
        if saved:
            flash(done.format(ref=case.reference, name=saved.value), "success")
            return _back(case)
    screen = CaseScreen.for_desk(case)  # only reached with full access
    setattr(screen, slot, form)
    return screen.render()


@bp.post("/<int:case_id>/assign")
@staff_required
def assign(case_id: int):
    """Assign to a handler or a team."""
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    _refuse(service_desk.desk_refusal(case, current_user))
    form = AssignForm()
    return _person_form(case, form, form.assignee, "assign_form", _assign,
                        "{ref} assigned to {name}.")


def _assign(case: Case, value: str | None) -> str:
    target = service_desk.assignee_for(value)
    service_desk.assign(case, target, current_user, current_app.config["BASE_URL"])
    return target.name


@bp.post("/<int:case_id>/owner")
@staff_required
def hand_over(case_id: int):
    """Change the owner (the owner or a supervisor); call backs follow the case."""
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    if not (current_user.has_role("supervisor") or current_user.id == case.owner_id):
        abort(403, description="Only the case owner or a supervisor can change its owner.")
    form = OwnerForm()
    return _person_form(case, form, form.owner, "owner_form", _hand_over,
                        "{ref} now belongs to {name}.")


def _hand_over(case: Case, value: str | None) -> str:
    new_owner = service_desk.owner_for(value)
    service_desk.hand_over(case, new_owner, current_user)
    return new_owner.name


@bp.post("/<int:case_id>/acknowledge")
@staff_required
def acknowledge(case_id: int):
    """The assignee acknowledges (anyone else: a 403 page saying whose it is)."""
    return _desk_action(case_id, lambda case: service_desk.acknowledge(case, current_user),
                        "Case acknowledged.",
                        refusal=lambda case: service_desk.acknowledge_refusal(case, current_user))


@bp.post("/<int:case_id>/close")
@staff_required
def close(case_id: int):
    """Close (or Quick Close when Solved); a supervisor closing early gives a reason."""
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    quick = request.form.get("quick") == "1"
    _refuse(service_desk.close_refusal(case, current_user, quick))
    form = CloseForm()
    if form.validate_on_submit():
        try:
            service_desk.close(case, current_user, quick, form.reason.data)
        except RuleError as exc:
            db.session.rollback()
            if exc.field != "reason":
                flash(str(exc), "error")
                return _back(case)
            form.reason.errors = [str(exc)]
        else:
            db.session.commit()
            flash("Case closed.", "success")
            return _back(case)
    screen = CaseScreen.for_desk(case)  # only reached with full access
    screen.close_form = form
    return screen.render()


def _refuse(reason: str | None) -> None:
    """A refusal on the service desk is a 403 page that says whose the action is."""
    if reason:
        abort(403, description=reason)


def _desk_action(case_id: int, action, message: str, refusal=None):
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    if EmptyForm().validate_on_submit():
        _refuse(refusal(case) if refusal else None)
        try:
            action(case)
        except RuleError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(message, "success")
    return _back(case)


@bp.post("/<int:case_id>/resolve")
@staff_required
def resolve(case_id: int):
    """Resolve with Solution and Cause (both required)."""
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    _refuse(service_desk.desk_refusal(case, current_user))
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            solution, cause = form.solution.data, form.cause.data
            assert solution is not None and cause is not None  # InputRequired: both typed
            service_desk.resolve(case, solution, cause, current_user)
        except RuleError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash("Case resolved: Solved.", "success")
            return _back(case)
    screen = CaseScreen.for_desk(case)  # only reached with full access
    screen.resolve_form = form
    return screen.render()
