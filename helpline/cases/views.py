"""The case screen: one form, inline rows, append-only notes, beneficiary picker."""
from __future__ import annotations

import secrets
import time
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import audit, site_settings, submissions
from ..auth.guard import staff_required
from ..contacts import access as contact_access
from ..contacts import services as contact_services
from ..contacts.access import Access, log_owner_access
from ..contacts.models import Contact
from ..extensions import db
from ..htmx import is_htmx, render
from ..lookups.models import offered
from ..rules import RuleError
from ..timeutil import utcnow
from . import access, bp, rows, services
from .forms import AssignForm, CaseForm, NoteForm, ResolveForm, from_bool, to_bool
from .models import WHO_REQUIRES, Case


def _case_or_404(case_id: int) -> Case:
    return db.get_or_404(Case, case_id, description="There is no case with that number.")


def _require_verified(contact: Contact) -> None:
    if not contact_services.is_verified(contact, current_user, session.get("sid")):
        abort(403, description="Verify the caller on the contact page before case details "
                               "are shown.")


VIEW_ONLY = ("You have view-only access to {ref} for call back {cb}, handed over by a team "
             "leader: you can see the case but change only the call back. Ask a team leader "
             "if the case itself needs a change.")


def _require_access(case: Case, change: bool = False) -> Access | None:
    """The people the work belongs to open the case without verifying (a view-only
    hand-over may look, never change); everyone else has verified the caller this session.
    Returns the ownership that let them in, if any."""
    found = access.owner_access(case, current_user)
    if found is not None and found.view_only and change:
        abort(403, description=VIEW_ONLY.format(ref=case.reference, cb=found.callback_id))
    if found is None:
        _require_verified(case.caller)
    return found


def _log_owner_access(case: Case, found: Access | None) -> None:
    """An opening that ownership allowed in place of a verification is audited as such."""
    if found is not None and contact_services.needs_verification(current_user) and \
            not contact_services.is_verified(case.caller, current_user, session.get("sid")):
        log_owner_access(current_user, "case", case.reference, found, ip=request.remote_addr)


def _form_for(case: Case | None) -> CaseForm:
    if request.method == "POST" or case is None:
        form = CaseForm()
    else:
        form = CaseForm(obj=case)
        for name in ("beneficiary_consent", "psychosocial_support", "safeguarding_activated",
                     "feedback_consent"):
            getattr(form, name).data = from_bool(getattr(case, name))
        form.ready_for_review.data = "yes" if case.status == "Ready for review" else "no"
        form.beneficiary_id.data = str(case.beneficiary_id or "")
        form.version.data = str(case.version)
        form.note.data = ""
    if not form.loaded_at.data:
        form.loaded_at.data = utcnow().isoformat(timespec="seconds")
    return form


def _input(form: CaseForm, signposts, referrals) -> services.CaseInput:
    ben = form.beneficiary_id.data
    return services.CaseInput(
        title=form.title.data.strip(), who_requires_support=form.who_requires_support.data,
        beneficiary_id=int(ben) if ben and ben.isdigit() else None,
        beneficiary_consent=to_bool(form.beneficiary_consent.data),
        psychosocial_support=bool(to_bool(form.psychosocial_support.data)),
        safeguarding_activated=bool(to_bool(form.safeguarding_activated.data)),
        safeguarding_reason=(form.safeguarding_reason.data or "").strip() or None,
        feedback_consent=to_bool(form.feedback_consent.data),
        ready_for_review=form.ready_for_review.data == "yes", note=form.note.data,
        signposts=signposts, referrals=referrals)


def _row_action(signposts, referrals) -> bool:
    """No-JavaScript row buttons: add or remove a row and show the form again (no save)."""
    action = request.form.get("row_action", "")
    if action == "add-signpost":
        signposts.append(rows.SignpostRow(max([r.index for r in signposts], default=-1) + 1))
    elif action == "add-referral":
        referrals.append(rows.ReferralRow(max([r.index for r in referrals], default=-1) + 1))
    elif action.startswith("remove-signpost-"):
        signposts[:] = [r for r in signposts if str(r.index) != action.rsplit("-", 1)[1]]
    elif action.startswith("remove-referral-"):
        referrals[:] = [r for r in referrals if str(r.index) != action.rsplit("-", 1)[1]]
    elif action != "find-beneficiary":
        return False
    return True


def _changes_since(case: Case, loaded_at: str | None) -> list:
    """What others changed since this form was loaded (the latest changes if it does not say)."""
    try:
        since = datetime.fromisoformat(loaded_at) if loaded_at else None
    except ValueError:  # a tampered hidden field
        since = None
    if since is None:
        return services.case_history(case, latest=10)
    return services.case_history(case, since=since)


def _screen(case: Case | None, caller: Contact, view_only: Access | None = None):
    """GET shows the screen; POST saves it (or handles a no-JS row button)."""
    form = _form_for(case)
    signposts = rows.parse_signposts(request.form) if request.method == "POST" else (
        rows.signpost_rows_of(case) if case else [])
    referrals = rows.parse_referrals(request.form) if request.method == "POST" else (
        rows.referral_rows_of(case) if case else [])
    conflict = None
    # New Case is once-only: a resent form goes to the case its first post made.
    token = (request.form.get("form_token") or submissions.new_token()) if case is None else None
    done = submissions.already(request.form.get("form_token"), "case") if case is None else None
    if done and request.method == "POST":
        flash("This case was already saved: here it is.", "info")
        return redirect(url_for("cases.show", case_id=done))
    qform = _quick_create_without_js(form, caller) if request.method == "POST" else None
    if request.method == "POST" and not _quick_action() and not _row_action(signposts, referrals):
        valid = form.validate_on_submit()
        valid = rows.validate_signposts(signposts) and valid
        valid = rows.validate_referrals(referrals) and valid
        if valid:
            try:
                if case is not None:
                    services.check_version(case, form.version.data)
                saved = services.save_case(case, caller, _input(form, signposts, referrals),
                                           current_user)
                if case is None:
                    db.session.flush()
                    submissions.remember(token, "case", saved.id)
                db.session.commit()
            except services.ConflictError:
                db.session.rollback()
                conflict = _changes_since(case, request.form.get("loaded_at"))
                form.version.data = str(case.version)  # saving again applies this input
                form.loaded_at.data = utcnow().isoformat(timespec="seconds")
            except RuleError as exc:
                db.session.rollback()
                getattr(form, exc.field).errors.append(str(exc))
            except IntegrityError as exc:  # its twin, posted at the same moment, was saved
                db.session.rollback()
                twin = submissions.already(token, "case") \
                    if submissions.is_duplicate_error(exc) else None
                if twin is None:
                    raise
                flash("This case was already saved: here it is.", "info")
                return redirect(url_for("cases.show", case_id=twin))
            else:
                flash(f"Case {saved.reference} saved.", "success")
                if form.save_close.data:
                    return redirect(url_for("contacts.show", contact_id=caller.id))
                return redirect(url_for("cases.show", case_id=saved.id))
    failed = bool(form.errors or conflict is not None or any(r.error for r in signposts)
                  or (qform is not None and qform.errors)
                  or any(r.errors for r in referrals))
    q = request.form.get("beneficiary_q", "").strip()
    found = contact_services.search_contacts(q, per_page=8).items if len(q) >= 2 else []
    found = [c for c in found if c.id != caller.id]
    audit.viewed_list(current_user, "contact", [c.id for c in found], ip=request.remote_addr)
    db.session.commit()
    return render_template(
        "cases/edit.html", form=form, case=case, caller=caller, signposts=signposts,
        found=found, failed=failed,
        referrals=referrals, conflict=conflict, note_form=NoteForm(),
        beneficiary=_chosen_beneficiary(form, caller),
        categories=offered("signpost_category"), types=offered("local_response_type"),
        history=_history(case) if case else [], desk=_desk_forms(case) if case else None,
        qform=qform, statement=site_settings.consent_statement(), form_token=token,
        view_only=view_only,
    ), (409 if conflict is not None else 422 if failed and request.method == "POST" else 200)


def _quick_action() -> bool:
    return request.form.get("row_action", "") in ("quick-create", "quick-create-save")


def _quick_create_without_js(form: CaseForm, caller: Contact):
    """Quick Create as plain form posts: show the panel, then save the beneficiary and
    choose them (the case itself is not saved yet). Returns the panel's form to show."""
    from .desk_views import create_beneficiary, quick_form
    action = request.form.get("row_action", "")
    if action not in ("quick-create", "quick-create-save"):
        return None
    qform = quick_form()
    if action == "quick-create":
        return qform
    if not qform.validate():
        return qform
    beneficiary = create_beneficiary(qform, caller)
    db.session.commit()
    form.who_requires_support.data = WHO_REQUIRES[1]
    form.beneficiary_id.data = str(beneficiary.id)
    flash(f"Beneficiary {beneficiary.full_name} created. Save the case to keep it.", "success")
    return None


def _chosen_beneficiary(form: CaseForm, caller: Contact) -> Contact | None:
    if form.who_requires_support.data != WHO_REQUIRES[1]:
        return caller
    ben = form.beneficiary_id.data
    return db.session.get(Contact, int(ben)) if ben and ben.isdigit() else None


def _history(case: Case) -> list:
    return services.case_history(case, field="Status")


def _desk_forms(case: Case) -> dict:
    from sqlalchemy import select

    from ..auth.models import Team, User
    assign = AssignForm(formdata=None)
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
    teams = db.session.scalars(select(Team).order_by(Team.name))
    assign.assignee.choices = [("", "Choose…")] + [(f"team-{t.id}", f"Team: {t.name}")
                                                   for t in teams] + \
        [(f"user-{u.id}", u.name) for u in users]
    from flask import g

    from . import desk
    return {"assign": assign, "resolve": g.get("resolve_form") or ResolveForm(formdata=None),
            "may_close": desk.close_refusal(case, current_user, False) is None,
            "may_work": desk.desk_refusal(case, current_user) is None,
            "may_acknowledge": desk.acknowledge_refusal(case, current_user) is None}


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
        _require_verified(caller)
    if request.method == "GET":
        audit.viewed(current_user, "contact", caller.id, ip=request.remote_addr)
        db.session.commit()
    return _screen(None, caller)


@bp.route("/<int:case_id>", methods=["GET", "POST"])
@staff_required
def show(case_id: int):
    """The case screen (existing case)."""
    case = _case_or_404(case_id)
    found = _require_access(case, change=request.method == "POST")
    if request.method == "GET":
        audit.viewed(current_user, "case", case.reference, ip=request.remote_addr)
        _log_owner_access(case, found)
        db.session.commit()
    return _screen(case, case.caller, view_only=found if found and found.view_only else None)


@bp.post("/<int:case_id>/notes")
@staff_required
def add_note(case_id: int):
    """Append a summary note (htmx returns the notes list); notes are never edited."""
    case = _case_or_404(case_id)
    _require_access(case, change=True)
    form = NoteForm()
    page_version = None
    if form.validate_on_submit():
        # The page may hold the version it loaded; if it is current, it stays current
        # after this note (so the handler's own Save does not conflict with their note).
        in_step = request.form.get("version") == str(case.version)
        services.add_note(case, form.note.data, current_user)
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
                           categories=offered("signpost_category"))


@bp.get("/rows/referral")
@staff_required
def referral_row():
    """A new blank Local Referral row (htmx)."""
    index = request.args.get("i", type=int) or _new_index()
    return render_template("cases/_referral_row.html", row=rows.ReferralRow(index),
                           types=offered("local_response_type"))


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
