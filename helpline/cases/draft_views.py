"""Draft routes: keep the case screen's fields while typing, offer them back, restore, discard.

Keeping is an htmx post from the case form (CSRF like every post); restoring is a plain link
(`?restore_draft=<id>` on the screen's own address), so it works without JavaScript; the
screen hooks in with `apply_restore(screen)` and the template asks `case_draft_offer()`.
"""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import audit, submissions
from ..auth.forms import EmptyForm
from ..auth.guard import staff_required
from ..contacts import access as contact_access
from ..contacts.forms import quick_create_form
from ..contacts.models import Contact
from ..extensions import db
from ..timeutil import utcnow
from . import access, bp, drafts, rows
from .forms import CaseForm
from .models import Case
from .screen import CaseScreen


def _caller_for_new(contact_id: int) -> Contact:
    """The same checks as + New Case: an active caller this user may open a case for."""
    caller = db.session.get(Contact, contact_id)
    if caller is None or not caller.active:
        abort(404)
    found = contact_access.owner_access(caller, current_user)
    if found is not None and found.view_only:
        abort(403, description="You have view-only access to this person: no case draft.")
    if found is None:
        access.require_verified(caller)
    return caller


def _status(draft: drafts.CaseDraft | None, text: str | None = None):
    return render_template("cases/_draft_status.html", draft=draft, text=text)


def _keep(caller: Contact, case: Case | None):
    args = (current_user.id, caller.id, case.id if case else None, request.form)
    try:
        draft = drafts.keep(*args)
        try:
            db.session.commit()
        except IntegrityError:  # a second post of the same screen (the page being left)
            db.session.rollback()  # made the row a moment ago: replace its fields
            draft = drafts.keep(*args)
            db.session.commit()
    except drafts.DraftTooLarge as exc:
        return _status(None, str(exc)), 413
    return _status(draft)


@bp.post("/drafts/new/<int:contact_id>")
@staff_required
def keep_new_draft(contact_id: int):
    """Keep what is typed on New Case for this caller (htmx, every few seconds)."""
    caller = _caller_for_new(contact_id)
    if submissions.already(request.form.get("form_token"), "case"):
        # this form was saved as a case a moment ago: its late draft is not kept
        drafts.discard(current_user.id, caller.id, None)
        db.session.commit()
        return _status(None, "Saved as a case")
    return _keep(caller, None)


@bp.post("/drafts/case/<int:case_id>")
@staff_required
def keep_case_draft(case_id: int):
    """Keep what is typed on an existing case (htmx, every few seconds)."""
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    return _keep(case.caller, case)


@bp.post("/drafts/<int:draft_id>/discard")
@staff_required
def discard_draft(draft_id: int):
    """Discard one's own draft (anyone else's: 404)."""
    draft = drafts.own(draft_id, current_user.id)
    if draft is None or not EmptyForm().validate_on_submit():
        abort(404)
    back = (url_for("cases.show", case_id=draft.case_id) if draft.case_id
            else url_for("cases.new", contact_id=draft.caller_id))
    _audit(draft, "discard draft")
    db.session.delete(draft)
    db.session.commit()
    if request.headers.get("HX-Request") == "true":
        return ""
    return redirect(back)


def _audit(draft: drafts.CaseDraft, action: str) -> None:
    if draft.case_id:
        case = db.session.get(Case, draft.case_id)
        audit.record(current_user, action, "case", case.reference if case else draft.case_id,
                     ip=request.remote_addr)
    else:
        audit.record(current_user, action, "contact", draft.caller_id, ip=request.remote_addr)


def apply_restore(screen: CaseScreen) -> None:
    """On a GET with `?restore_draft=<id>`: fill the screen with the user's draft of it
    (404 for a draft that is not theirs or not of this screen); audited."""
    draft_id = request.args.get("restore_draft", type=int)
    if request.method != "GET" or not draft_id:
        return
    draft = drafts.own(draft_id, current_user.id)
    case_id = screen.case.id if screen.case else None
    if draft is None or draft.caller_id != screen.caller.id or draft.case_id != case_id:
        abort(404, description="There is no draft of yours for this case.")
    data = draft.formdata()
    screen.form = CaseForm(formdata=data)
    if not screen.form.loaded_at.data:
        screen.form.loaded_at.data = utcnow().isoformat(timespec="seconds")
    if screen.case is not None and not screen.form.version.data:
        screen.form.version.data = str(screen.case.version)
    screen.signposts, screen.referrals = rows.parse_signposts(data), rows.parse_referrals(data)
    if any(k.startswith("b-") and v.strip() for k, v in data.items(multi=True)
           if k not in ("b-consent_decision_date",)):
        screen.qform = quick_create_form(formdata=data)
    _audit(draft, "restore draft")
    if draft.beneficiary_id:
        audit.viewed(current_user, "contact", draft.beneficiary_id, ip=request.remote_addr)
    db.session.commit()
    g.restored_draft = draft


@bp.app_template_global()
def case_draft_offer(caller: Contact, case: Case | None) -> dict | None:
    """What the case screen says about the user's draft of it: offered, restored or none."""
    restored = g.get("restored_draft")
    if restored is not None:
        return {"draft": restored, "restored": True, "form": None}
    if request.method != "GET":
        return None
    draft = drafts.find(current_user.id, caller.id, case.id if case else None)
    return {"draft": draft, "restored": False, "form": EmptyForm()} if draft else None


def saved(caller: Contact, case: Case | None) -> None:
    """The screen was saved as a case: the user's draft of it is deleted."""
    if drafts.discard(current_user.id, caller.id, case.id if case else None):
        db.session.commit()
