"""The case screen: one form, inline rows, append-only notes, beneficiary picker."""
from __future__ import annotations

import secrets
import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import audit, submissions
from ..auth.guard import staff_required
from ..contacts import access as contact_access
from ..contacts import services as contact_services
from ..contacts.access import Access
from ..contacts.forms import quick_create_form
from ..contacts.models import Contact
from ..extensions import commit_keeping_loaded, db
from ..htmx import is_htmx, render
from ..lookups.cache import offered_items
from . import access, bp, draft_views, rows, saving, services
from .forms import NoteForm
from .models import WHO_REQUIRES, Case
from .screen import CaseScreen

QUICK_CREATE = ("quick-create", "quick-create-save")


def _quick_create_without_js(screen: CaseScreen, action: str) -> None:
    """Quick Create as plain form posts: show the panel, then save the beneficiary and
    choose them (the case itself is not saved yet)."""
    screen.qform = quick_create_form()
    if action == "quick-create" or not screen.qform.validate():
        return
    beneficiary = contact_services.create_beneficiary(
        screen.qform.values(), screen.caller, current_user, session.get("sid"),
        request.remote_addr)
    db.session.commit()
    screen.qform = None
    screen.form.who_requires_support.data = WHO_REQUIRES[1]
    screen.form.beneficiary_id.data = str(beneficiary.id)
    flash(f"Beneficiary {beneficiary.full_name} created. Save the case to keep it.", "success")


def _already_saved(case_id: int):
    flash("This case was already saved: here it is.", "info")
    return redirect(url_for("cases.show", case_id=case_id))


def _screen(case: Case | None, caller: Contact, view_only: Access | None = None):
    """GET shows the screen; POST saves it (or handles a no-JS row button)."""
    screen = CaseScreen.for_request(case, caller, view_only)
    if request.method != "POST":
        draft_views.apply_restore(screen)  # ?restore_draft=<id>: the user's draft fills it
        return screen.render()
    done = submissions.already(request.form.get("form_token"), "case") if case is None else None
    if done:
        return _already_saved(done)
    action = request.form.get("row_action", "")
    if action in QUICK_CREATE:
        _quick_create_without_js(screen, action)
        return screen.render()
    if rows.apply_row_action(action, screen.signposts, screen.referrals):
        return screen.render()
    saved = saving.save(screen)
    if saved.twin_id:
        return _already_saved(saved.twin_id)
    if saved.case is None:
        return screen.render()
    draft_views.saved(caller, case)  # the case is saved: its draft goes
    flash(f"Case {saved.case.reference} saved.", "success")
    if screen.form.save_close.data:
        return redirect(url_for("contacts.show", contact_id=caller.id))
    return redirect(url_for("cases.show", case_id=saved.case.id))


@bp.route("/new/<int:contact_id>", methods=["GET", "POST"])
@staff_required
def new(contact_id: int):
    """+ New Case for a contact: the whole screen works before the first save."""
    caller = db.session.get(Contact, contact_id)
    if caller is None or not caller.active:
        abort(404)
    found = contact_access.owner_access(caller, current_user)
    if found is not None and found.view_only:
        abort(403, description="You have view-only access to this person's case for one call "
                               "back: you cannot open a new case for them.")
    if found is None:
        access.require_verified(caller)
    if request.method == "GET":
        audit.viewed(current_user, "contact", caller.id, ip=request.remote_addr)
        db.session.commit()
    return _screen(None, caller)


@bp.route("/<int:case_id>", methods=["GET", "POST"])
@staff_required
def show(case_id: int):
    """The case screen (existing case)."""
    case = access.case_or_404(case_id)
    found = access.require_access(case, change=request.method == "POST")
    if request.method == "GET":
        audit.viewed(current_user, "case", case.reference, ip=request.remote_addr)
        access.log_opened_by_ownership(case, found)
        commit_keeping_loaded()  # the audit entry; what was read is not read again
    return _screen(case, case.caller, view_only=found if found and found.view_only else None)


@bp.post("/<int:case_id>/notes")
@staff_required
def add_note(case_id: int):
    """Append a summary note (htmx returns the notes list); notes are never edited."""
    case = access.case_or_404(case_id)
    access.require_access(case, change=True)
    form = NoteForm()
    page_version = None
    if form.validate_on_submit():
        # The page may hold the version it loaded; if it is current, it stays current
        # after this note (so the handler's own Save does not conflict with their note).
        in_step = request.form.get("version") == str(case.version)
        note = form.note.data
        assert note is not None  # InputRequired: a note was typed
        services.add_note(case, note, current_user)
        db.session.commit()
        if not is_htmx():
            flash("Note added.", "success")
            return redirect(url_for("cases.show", case_id=case.id) + "#notes")
        page_version = case.version if in_step else None
        form = NoteForm(formdata=None)
    status = 200 if not form.errors or is_htmx() else 422
    return render("cases/note_page.html", "cases/_notes.html", status=status, case=case,
                  note_form=form, page_version=page_version)


def _new_index() -> int:
    """A row index later than any on the page (rows keep the order they were added in).

    Milliseconds for the order, three random digits so two clicks in the same
    millisecond still get two rows."""
    return (int(time.time() * 1000) % 10**8) * 1000 + secrets.randbelow(1000)


@bp.get("/rows/signpost")
@staff_required
def signpost_row():
    """A new blank Local Signpost row (htmx)."""
    index = request.args.get("i", type=int) or _new_index()
    return render_template("cases/_signpost_row.html", row=rows.SignpostRow(index),
                           categories=offered_items("signpost_category"))


@bp.get("/rows/referral")
@staff_required
def referral_row():
    """A new blank Local Referral row (htmx)."""
    index = request.args.get("i", type=int) or _new_index()
    return render_template("cases/_referral_row.html", row=rows.ReferralRow(index),
                           types=offered_items("local_response_type"))


@bp.get("/rows/referral-extra")
@staff_required
def referral_extra():
    """The extra fields of the chosen response type (htmx)."""
    index = request.args.get("i", 0, type=int)
    row = rows.ReferralRow(index, response_type_id=request.args.get(f"referrals-{index}-type",
                                                                    type=int))
    return render_template("cases/_referral_extra.html", row=row)


@bp.get("/beneficiaries")
@staff_required
def beneficiary_search():
    """Search existing contacts to be the beneficiary (htmx autocomplete)."""
    q = request.args.get("beneficiary_q", "")
    caller_id = request.args.get("caller", type=int)
    found = contact_services.search_contacts(q, per_page=8).items if len(q.strip()) >= 2 else []
    found = [c for c in found if c.id != caller_id]
    audit.viewed_list(current_user, "contact", [c.id for c in found], ip=request.remote_addr)
    db.session.commit()
    return render_template("cases/_beneficiary_results.html", q=q, caller_id=caller_id,
                           found=found)


@bp.get("/beneficiaries/<int:contact_id>")
@staff_required
def beneficiary_pick(contact_id: int):
    """Choose a beneficiary: the picker with their details shown read-only."""
    contact = db.get_or_404(Contact, contact_id)
    audit.viewed(current_user, "contact", contact.id, ip=request.remote_addr)
    db.session.commit()
    return render_template("cases/_beneficiary.html", beneficiary=contact, form=None,
                           caller_id=request.args.get("caller", type=int), found=[], q="")
