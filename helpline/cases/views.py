"""Case pages."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import audit
from ..auth.guard import role_required
from ..contacts import services as contact_services
from ..contacts.models import Contact
from ..extensions import db
from . import bp, services
from .models import Case

staff = role_required("volunteer", "supervisor", "data")


def _case_or_404(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404, description="There is no case with that number.")
    return case


def _require_verified(contact: Contact) -> None:
    if not contact_services.is_verified(contact, current_user, session.get("sid")):
        abort(403, description="Verify the caller on the contact page before case details "
                               "are shown.")


@bp.route("/new/<int:contact_id>", methods=["GET", "POST"])
@staff
def new(contact_id: int):
    """+ New Case for a contact."""
    contact = db.session.get(Contact, contact_id) or abort(404)
    _require_verified(contact)
    from .forms import NewCaseForm
    form = NewCaseForm()
    if form.validate_on_submit():
        case = services.create_case(contact, form.title.data.strip(), current_user)
        db.session.commit()
        flash(f"Case {case.reference} created.", "success")
        return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/new.html", form=form, contact=contact), \
        (422 if form.errors else 200)


@bp.get("/<int:case_id>")
@staff
def show(case_id: int):
    """The case page."""
    case = _case_or_404(case_id)
    _require_verified(case.caller)
    audit.viewed(current_user, "case", case.reference, ip=request.remote_addr)
    db.session.commit()
    return render_template("cases/show.html", case=case)
