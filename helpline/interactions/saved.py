"""A saved interaction: its page (who may open it), finishing it after the call, assigning
more handlers, and "Interactions assigned to me"."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import audit
from ..auth.guard import staff_required
from ..cases.access import owner_access as case_owner_access
from ..contacts import services as contact_services
from ..contacts.access import log_owner_access, owner_access
from ..contacts.models import Contact
from ..extensions import db
from ..lookups.models import offered
from ..numbers import whole_number
from ..rules import commit_change
from . import bp, services
from .forms import AddHandlersForm, FinishForm
from .models import Interaction
from .views import chosen_handlers, link


@bp.get("/<int:interaction_id>")
@staff_required
def show(interaction_id: int):
    """One interaction, with its handlers (who assigned them, when)."""
    interaction = db.get_or_404(Interaction, interaction_id)
    _require_view(interaction)
    audit.viewed(current_user, "interaction", interaction.reference, ip=request.remote_addr)
    db.session.commit()
    return _page(interaction, _finish_form(interaction))


def _page(interaction: Interaction, finish_form: FinishForm | None, status: int = 200):
    return render_template("interactions/show.html", interaction=interaction,
                           form=AddHandlersForm(), finish_form=finish_form,
                           may_work=services.may_work_on(interaction, current_user),
                           summary=services.summary_line(interaction)), status


ANONYMOUS = ("Only this interaction's handlers or a supervisor can open {ref}: it names "
             "no caller to verify.")


def _require_view(interaction: Interaction) -> None:
    """Its handlers, supervisors (and the roles that need no verification) and, for a call
    flagged for the Morning Review, morning reviewers open it; a volunteer otherwise only
    after verifying the caller it names (the Enquirer, the case's caller) this session,
    or when the work on them is theirs (as contacts/cases access rule)."""
    user = current_user
    if services.is_handler(interaction, user) or \
            not contact_services.needs_verification(user):
        return
    if user.reviews_mornings and services.flagged_for_review(interaction):
        audit.record(user, "access-by-reviewer", "interaction", interaction.reference,
                     ip=request.remote_addr, reason="Morning reviewer opening an interaction "
                     "flagged for the Morning Review; no verification recorded")
        return
    if interaction.enquirer is None and interaction.case is None:
        abort(403, description=ANONYMOUS.format(ref=interaction.reference))
    if interaction.enquirer is not None:
        _require_person(interaction, interaction.enquirer,
                        lambda: owner_access(interaction.enquirer, user))
    if interaction.case is not None:
        _require_person(interaction, interaction.case.caller,
                        lambda: case_owner_access(interaction.case, user))


def _require_person(interaction: Interaction, contact: Contact, ownership) -> None:
    if contact_services.is_verified(contact, current_user, session.get("sid")):
        return
    found = ownership()
    if found is None:
        abort(403, description="Verify the caller on the contact page first.")
    log_owner_access(current_user, "interaction", interaction.reference, found,
                     ip=request.remote_addr)


def _finish_form(interaction: Interaction, formdata=None) -> FinishForm | None:
    """The after-call form, filled from the saved interaction (for those who may change it)."""
    if not services.may_work_on(interaction, current_user):
        return None
    form = FinishForm(formdata=formdata, data=None if formdata else {
        "call_state_id": str(interaction.call_state_id or ""),
        "duration_mins": "" if interaction.duration_mins is None else
        str(interaction.duration_mins),
        "interventions": [str(i.id) for i in interaction.interventions],
        "out_of_remit": interaction.out_of_remit,
        "out_of_remit_reason_id": str(interaction.out_of_remit_reason_id or "")})
    # an item retired since it was chosen stays a choice here (saving keeps it)
    form.call_state_id.choices = _opts("call_state", [interaction.call_state])
    form.out_of_remit_reason_id.choices = _opts("out_of_remit_reason",
                                                [interaction.out_of_remit_reason])
    form.interventions.choices = _opts("emergency_intervention", interaction.interventions)[1:]
    return form


def _opts(list_name: str, current: list) -> list[tuple[str, str]]:
    items = offered(list_name)
    items += [i for i in current if i is not None and i not in items]
    return [("", "Choose…")] + [(str(i.id), i.name) for i in items]


def _worked_on(interaction_id: int, what: str) -> Interaction:
    """The interaction, if the current user may work on it (its handlers, supervisors);
    else a 403 page saying whose it is to `what`."""
    interaction = db.get_or_404(Interaction, interaction_id)
    if not services.may_work_on(interaction, current_user):
        abort(403, description=services.NOT_YOURS.format(what=what, ref=interaction.reference))
    return interaction


@bp.post("/<int:interaction_id>/finish")
@staff_required
def finish(interaction_id: int):
    """After the call: Call State, Duration, interventions, Out Of Remit / complaint."""
    interaction = _worked_on(interaction_id, "change")
    form = _finish_form(interaction, formdata=request.form)
    assert form is not None  # may_work_on: the form is theirs
    if form.validate_on_submit():
        def lookup(value: str | None) -> int | None:
            return whole_number(value)
        chosen = set(form.interventions.data or [])
        choices = offered("emergency_intervention") + list(interaction.interventions)
        saved = commit_change(services.finish, interaction, {
            "call_state_id": lookup(form.call_state_id.data),
            "duration_mins": form.parsed_duration,
            "out_of_remit": bool(form.out_of_remit.data),
            "out_of_remit_reason_id": lookup(form.out_of_remit_reason_id.data)
            if form.out_of_remit.data else None,
        }, list({i.id: i for i in choices if str(i.id) in chosen}.values()),
            current_user, form=form)
        if saved:
            flash(f"Saved the after-call details of {interaction.reference}." if saved.value
                  else "Nothing changed.", "success")
            return redirect(url_for("interactions.show", interaction_id=interaction.id))
    return _page(interaction, form, 422)


@bp.post("/<int:interaction_id>/handlers")
@staff_required
def add_handlers(interaction_id: int):
    """Assign more handlers (re-assignment pings each new one): its handlers and supervisors."""
    interaction = _worked_on(interaction_id, "assign handlers to")
    errors: list[str] = []
    users = chosen_handlers(errors)
    if AddHandlersForm().validate_on_submit() and users and not errors:
        added = commit_change(services.assign_more, interaction, users, current_user,
                              link(interaction))
        if added:
            flash(f"Assigned {', '.join(h.user.name for h in added.value or []) or 'nobody new'}.",
                  "success")
        else:
            flash(added.message, "error")
    else:
        flash(errors[0] if errors else "Choose a handler to assign.", "error")
    return redirect(url_for("interactions.show", interaction_id=interaction.id))


MINE_PER_PAGE = 25
MAX_PAGE = 100_000  # past every list (a longer number overflows the database's integers)


@bp.get("/mine")
@staff_required
def mine():
    """Interactions assigned to me: every one I am a handler on, newest first, and what
    still needs finishing."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows = services.assigned_to(current_user, page, MINE_PER_PAGE)
    if rows.pages and page > rows.pages:  # past the end: the last page
        rows = services.assigned_to(current_user, rows.pages, MINE_PER_PAGE)
    # the rows name enquirers and cases: one entry naming the interactions shown
    audit.viewed_list(current_user, "interaction", [i.reference for i in rows.items],
                      ip=request.remote_addr)
    db.session.commit()
    return render_template("interactions/mine.html", rows=rows,
                           unfinished=services.unfinished_count(db.session, current_user),
                           still_to_finish=services.still_to_finish,
                           summary=services.summary_line)
