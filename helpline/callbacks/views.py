"""Call-back pages: raise, queues, reminders (snooze / done / dismiss), close."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit, submissions
from ..auth.guard import staff_required, supervisor_required
from ..auth.models import Team, User
from ..cases import access as case_access
from ..cases.models import Case
from ..contacts import services as contact_services
from ..extensions import add_error, db
from ..htmx import is_htmx
from ..interactions.forms import parse_london
from ..numbers import whole_number
from ..rules import RuleError, commit_change
from ..timeutil import london_format, utcnow
from . import bp, handover, services
from .forms import CallBackForm, CloseForm, HandOverForm, SnoozeForm
from .models import CallBack
from .signals import request_visible


def _cb_or_404(cb_id: int) -> CallBack:
    return db.get_or_404(CallBack, cb_id, description="There is no call back with that number.")


def _owners(form: CallBackForm) -> None:
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
    form.owner_user.choices = [("", "Choose…")] + [(str(u.id), u.name) for u in users]


def _is_auto(field, auto) -> bool:
    """The field holds nothing, or only the value the app filled in (not typed)."""
    text = (field.data or "").strip()
    return not text or text == (auto.data or "").strip()


def _times(form: CallBackForm, received, preferred, start, end):
    """Start and End to save or show: typed values win; a Start typed beyond the default End
    moves End to Start + 30 minutes (informal reminders set weeks ahead with Start only)."""
    return services.resolve_times(received, preferred,
                                  None if _is_auto(form.start, form.start_auto) else start,
                                  end, _is_auto(form.end, form.end_auto))


def _input(form: CallBackForm, times: dict) -> services.CallBackInput | None:
    received = times["call_received"] or utcnow()
    start, end = _times(form, received, times["preferred"], times["start"], times["end"])
    owner_user = None
    if form.owner.data == "user":
        uid = form.owner_user.data
        number = whole_number(uid)
        owner_user = db.session.get(User, number) if number else None
        if owner_user is None:
            add_error(form.owner_user, "Choose the caseworker who will make the call back")
            return None
    return services.CallBackInput(  # both InputRequired: never None once validated
        contact_number=(form.contact_number.data or "").strip(),
        description=(form.description.data or "").strip(),
        call_received_at=received, preferred_at=times["preferred"], alarm=bool(form.alarm.data),
        start_at=start, end_at=end,
        informal=bool(form.informal.data), back_entry=bool(form.back_entry.data),
        owner=form.owner.data or "me", owner_user=owner_user)


@bp.route("/new/<int:case_id>", methods=["GET", "POST"])
@staff_required
def new(case_id: int):
    """Raise a call back on a case."""
    case = db.get_or_404(Case, case_id)
    found = case_access.owner_access(case, current_user)
    if found is not None and found.view_only:
        abort(403, description=f"You have view-only access to {case.reference} for one call "
                               "back: ask a team leader to raise another.")
    if found is None and not contact_services.is_verified(case.caller, current_user,
                                                          session.get("sid")):
        abort(403, description="Verify the caller on the contact page first.")
    form = CallBackForm()
    _owners(form)
    token = request.form.get("form_token") or submissions.new_token()
    done = submissions.already(request.form.get("form_token"), "call back")
    if done:  # a double click or a resent form: the first one saved it
        return _call_back_already_saved(case)
    if request.method == "GET":
        form.fill_defaults()
        form.contact_number.data = case.caller.phone or ""
        form.description.data = f"{case.reference} – "
        _show_defaults(form)
        audit.viewed(current_user, "contact", case.caller.id, ip=request.remote_addr)
        db.session.commit()
    elif form.validate_on_submit():
        times = form.parsed()
        data = None if form.errors else _input(form, times)
        if data is not None:
            try:
                cb = services.create(case, data, current_user)
            except RuleError as exc:
                db.session.rollback()
                _refused(form, exc)
            else:
                submissions.remember(token, "call back", cb.id)
                if submissions.commit_once(token, "call back"):
                    return _call_back_already_saved(case)
                flash(f"Call back saved for {london_format(cb.start_at)} – "
                      f"{london_format(cb.end_at)}.", "success")
                return redirect(url_for("cases.show", case_id=case.id))
    return render_template("callbacks/new.html", form=form, case=case, form_token=token), (
        422 if form.errors else 200)


# the service's names for the times that CallBackForm calls differently
_SERVICE_FIELDS = {"end_at": "end", "start_at": "start", "preferred_at": "preferred"}


def _refused(form: CallBackForm, exc: RuleError) -> None:
    """Put a refusal of services.create at the form field it names."""
    field = _SERVICE_FIELDS.get(exc.field, exc.field) if exc.field else None
    if field:
        add_error(getattr(form, field), str(exc))
    else:  # a rule with no field (none today): the page's messages
        flash(str(exc), "error")


def _call_back_already_saved(case: Case):
    flash("This call back was already saved (the form was sent twice); it is on the case "
          "once.", "info")
    return redirect(url_for("cases.show", case_id=case.id))


def _show_defaults(form: CallBackForm) -> None:
    """Fill Start and End live: defaults from Call received and Preferred time, keeping what
    the handler typed (text that is not a time yet is left as typed, never lost)."""
    received = parse_london(form.call_received.data or "") or utcnow()
    preferred = parse_london(form.preferred.data or "") if form.preferred.data else None
    start_auto, end_auto = _is_auto(form.start, form.start_auto), _is_auto(form.end, form.end_auto)
    # not auto: the field holds typed text (never None)
    start = None if start_auto else parse_london(form.start.data or "")
    end = None if end_auto else parse_london(form.end.data or "")
    default_start, _ = services.default_times(received, preferred)
    new_start, new_end = services.resolve_times(received, preferred, start, end, end_auto)
    if start_auto or start is not None:
        form.start.data = london_format(new_start)
    form.start_auto.data = london_format(default_start)
    if end_auto:
        form.end.data = form.end_auto.data = london_format(new_end)
    elif end is not None:
        form.end.data = london_format(end)


@bp.get("/defaults")
@staff_required
def defaults():
    """Start and End worked out from Call received / Preferred time (htmx)."""
    form = CallBackForm(request.args, meta={"csrf": False})
    _show_defaults(form)
    return render_template("callbacks/_times.html", form=form)


@bp.get("/")
@staff_required
def mine():
    """My call backs: due soonest first."""
    return _queue("My call backs", services.queue_for(user=current_user))


@bp.get("/team/<int:team_id>")
@supervisor_required
def team(team_id: int):
    """A team's queue (call backs with no single owner)."""
    t = db.get_or_404(Team, team_id)
    return _queue(f"{t.name} queue", services.queue_for(team_id=t.id))


@bp.get("/overdue")
@supervisor_required
def overdue():
    """Every open call back past its End."""
    return _queue("Overdue call backs", services.queue_for(overdue=True))


def _queue(title: str, rows: list[CallBack]):
    """A queue page; who was shown which call backs is audited."""
    audit.viewed_list(current_user, "call back", [cb.id for cb in rows], ip=request.remote_addr)
    db.session.commit()
    return render_template("callbacks/queue.html", title=title, rows=rows, now=utcnow())


@bp.get("/<int:cb_id>")
@staff_required
def show(cb_id: int):
    """One call back: for its owner (or team queue), supervisors, the people the case's work
    belongs to, and a handler who has verified the caller in this session."""
    cb = _cb_or_404(cb_id)
    if not _may_see(cb):
        abort(403, description="This call back is someone else's. Verify the caller on the "
                               "contact page to see it.")
    return _show(cb)


def _may_see(cb: CallBack) -> bool:
    if _is_mine(cb) or current_user.has_role("supervisor"):
        return True
    if cb.case is None:  # a request's call back: whoever may see the request
        return all(visible for _receiver, visible in request_visible.send(cb, user=current_user))
    return case_access.owner_access(cb.case, current_user) is not None or \
        contact_services.is_verified(cb.case.caller, current_user, session.get("sid"))


def _show(cb: CallBack, hand_over_form: HandOverForm | None = None, status: int = 200,
          close_form: CloseForm | None = None):
    audit.viewed(current_user, "call back", cb.id, ip=request.remote_addr)
    db.session.commit()
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
    form = hand_over_form or HandOverForm(formdata=None)
    caseworkers = db.session.scalars(select(User).where(
        User.active.is_(True), User.role == "volunteer").order_by(User.name))
    form.user_id.choices = [("", "Choose…")] + [(str(u.id), u.name) for u in caseworkers]
    return render_template("callbacks/show.html", cb=cb, close_form=close_form or CloseForm(),
                           snooze_form=SnoozeForm(), users=users, hand_over_form=form,
                           grants=handover.live_grants(cb)), status


@bp.post("/<int:cb_id>/hand-over")
@supervisor_required
def hand_over(cb_id: int):
    """A team leader hands the call back to a caseworker with view-only access to its case."""
    cb = _cb_or_404(cb_id)
    form = HandOverForm()
    if form.validate_on_submit():
        uid = form.user_id.data
        number = whole_number(uid)
        user = db.session.get(User, number) if number else None
        done = commit_change(handover.hand_over, cb, user, current_user)
        if not done:  # every refusal is about whom it goes to
            form.user_id.errors = list(form.user_id.errors) + [done.message]
        else:
            assert user is not None  # handover.hand_over refuses a missing user
            flash(f"Call back handed to {user.name}, who can see {cb.subject} but change only "
                  "the call back.", "success")
            return redirect(url_for("callbacks.show", cb_id=cb.id))
    return _show(cb, form, 422)


@bp.post("/<int:cb_id>/hand-over/end")
@supervisor_required
def end_hand_over(cb_id: int):
    """End the view-only access early (the call back stays with its owner)."""
    cb = _cb_or_404(cb_id)
    if CloseForm().is_submitted() and handover.end_grants(
            cb, current_user, f"Ended by {current_user.name}"):
        db.session.commit()
        flash("View-only access ended.", "success")
    return redirect(url_for("callbacks.show", cb_id=cb.id))


@bp.get("/reminders")
@staff_required
def reminders():
    """The reminder pop-ups this user should see now (fetched when SSE says one fired)."""
    showing = services.showing_for(current_user)
    audit.viewed_list(current_user, "call back", [cb.id for cb in showing],
                      ip=request.remote_addr)
    db.session.commit()
    return render_template("callbacks/_reminders.html", reminders=showing)


def _after_reminder_action(cb: CallBack):
    if is_htmx():
        return reminders()
    return redirect(request.referrer or url_for("callbacks.mine"))


def _is_mine(cb: CallBack) -> bool:
    return cb.owner_id == current_user.id or (
        cb.owner_id is None and cb.team_id in {t.id for t in current_user.teams})


def _own(cb: CallBack) -> None:
    if not _is_mine(cb) and not current_user.has_role("supervisor"):
        abort(403, description="Only the call back's owner (or a supervisor) can do that.")


@bp.post("/<int:cb_id>/snooze")
@staff_required
def snooze(cb_id: int):
    """Snooze the reminder (15-minute steps, 120 minutes in total)."""
    cb = _cb_or_404(cb_id)
    _own(cb)
    form = SnoozeForm()
    if form.validate_on_submit():
        done = commit_change(services.snooze, cb, int(form.minutes.data), current_user)
        if not done:
            flash(done.message, "error")
    return _after_reminder_action(cb)


@bp.post("/<int:cb_id>/dismiss")
@staff_required
def dismiss(cb_id: int):
    """Dismiss (warned against in the dialog); changing End re-arms."""
    cb = _cb_or_404(cb_id)
    _own(cb)
    if CloseForm(meta={"csrf": True}).is_submitted():
        services.dismiss(cb, current_user)
        db.session.commit()
    return _after_reminder_action(cb)


@bp.post("/<int:cb_id>/close")
@staff_required
def close(cb_id: int):
    """Close with a closing status (Done from the reminder)."""
    cb = _cb_or_404(cb_id)
    _own(cb)
    form = CloseForm()
    if form.validate_on_submit():
        done = commit_change(services.close, cb, form.status.data, current_user)
        flash(f"Call back closed: {form.status.data}." if done else done.message,
              "success" if done else "error")
    elif not is_htmx():  # the message at the field, what was typed kept (walk finding)
        return _show(cb, status=422, close_form=form)
    return _after_reminder_action(cb)


@bp.post("/<int:cb_id>/times")
@staff_required
def change_times(cb_id: int):
    """Change Start/End/Description; a new End re-arms the alarm."""
    cb = _cb_or_404(cb_id)
    _own(cb)
    form = CloseForm()
    start, end = parse_london(request.form.get("start", "")), parse_london(request.form.get("end", ""))
    if form.is_submitted() and start and end:
        done = commit_change(services.update_times, cb, start, end,
                             request.form.get("description") or cb.description, current_user)
        flash("Call back times saved; the alarm is set again." if done else done.message,
              "success" if done else "error")
    else:
        flash("Enter Start and End as dd/mm/yyyy HH:MM", "error")
    return redirect(url_for("callbacks.show", cb_id=cb.id))


@bp.post("/<int:cb_id>/move")
@supervisor_required
def move(cb_id: int):
    """Supervisors move any call back."""
    cb = _cb_or_404(cb_id)
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    if CloseForm().is_submitted() and user is not None and user.active:
        services.reassign(cb, user, current_user)
        db.session.commit()
        flash(f"Call back moved to {user.name}.", "success")
    return redirect(url_for("callbacks.show", cb_id=cb.id))


@bp.app_template_global("callbacks_for_case")
def _for_case(case_id: int) -> list[CallBack]:
    return list(db.session.scalars(select(CallBack).where(CallBack.case_id == case_id)
                                   .order_by(CallBack.end_at)))
