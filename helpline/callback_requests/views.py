"""Call-back requests: new, Awaiting Allocation, Awaiting Calls, attempts, link, paper form."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import audit, submissions
from ..auth.guard import staff_required, supervisor_required
from ..auth.models import Team, User
from ..contacts import services as contact_services
from ..contacts.models import Contact
from ..extensions import db
from ..interactions.forms import parse_london
from ..lookups.models import offered
from ..numbers import whole_number
from ..rules import RuleError, commit_change, place_error
from ..timeutil import london_format, utcnow
from . import bp, services
from .attachments import size_label
from .forms import AllocateForm, AttachForm, AttemptForm, RequestForm, StopForm
from .models import EXISTING_REASONS, NATURES, CallBackRequest


def _req_or_404(request_id: int) -> CallBackRequest:
    return db.get_or_404(CallBackRequest, request_id,
                         description="There is no call-back request with that number.")


def visible_request(request_id: int) -> CallBackRequest:
    """The request, if the signed-in user may see it (403 with the reason otherwise)."""
    req = _req_or_404(request_id)
    if not services.may_see(req, current_user):
        abort(403, description="This call-back request belongs to another team. Ask a team "
                               "leader if you need to see it.")
    return req


def _link(req: CallBackRequest) -> str:
    return url_for("requests.show", request_id=req.id)


def _teams(form: RequestForm) -> None:
    teams = db.session.scalars(select(Team).order_by(Team.name))
    form.team_id.choices = [(str(t.id), t.name) for t in teams]
    if not form.team_id.data and current_user.default_team_id:
        form.team_id.data = str(current_user.default_team_id)


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    """Add New Call back Request."""
    form = RequestForm()
    _teams(form)
    token = request.form.get("form_token") or submissions.new_token()
    done = submissions.already(request.form.get("form_token"), "call-back request")
    if done:  # a double click or a resent form: show what the first one saved
        return _request_already_saved(done)
    if form.validate_on_submit():
        values = {  # Full Name and Contact Number are InputRequired: never None here
            "full_name": (form.full_name.data or "").strip(), "address": form.address.data or None,
            "date_of_birth": form.date_of_birth.data,
            "contact_number": (form.contact_number.data or "").strip(),
            "required_at": None if form.anytime.data else form.parsed_required,
            "anytime": bool(form.anytime.data), "nature": form.nature.data,
            "existing_reason": form.existing_reason.data if form.nature.data == "Existing Case"
            else None, "notes": form.notes.data or None,
            "team_id": whole_number(form.team_id.data),
            "back_entry": bool(form.back_entry.data),
            "downtime": bool(form.downtime.data),
            "offline_template": form.offline_template.data or None,
            "received_at": form.parsed_received or utcnow(),
        }
        try:
            req = services.create_request(values, current_user,
                                          current_app.config["BASE_URL"], _link,
                                          current_app.config["MP_ENQUIRIES_EMAIL"])
        except RuleError as exc:
            db.session.rollback()
            if not place_error(form, exc):
                flash(str(exc), "error")
        else:
            submissions.remember(token, "call-back request", req.id)
            twin = submissions.commit_once(token, "call-back request")
            if twin:
                return _request_already_saved(twin)
            flash(f"Call-back request for {req.full_name} saved: Awaiting Allocation. "
                  "The team leaders have been emailed.", "success")
            return redirect(url_for("requests.show", request_id=req.id))
    return render_template("requests/new.html", form=form, form_token=token), (
        422 if form.errors else 200)


def _request_already_saved(request_id: int):
    flash("This call-back request was already saved (the form was sent twice); the team "
          "leaders were emailed once.", "info")
    return redirect(url_for("requests.show", request_id=request_id))


@bp.get("/")
@supervisor_required
def awaiting_allocation():
    """Awaiting Allocation (team leaders): oldest first."""
    rows = db.session.scalars(select(CallBackRequest).where(
        CallBackRequest.status == "Awaiting Allocation").order_by(CallBackRequest.received_at))
    return _list("Awaiting Allocation", rows, services.counts())


@bp.get("/mine")
@staff_required
def awaiting_calls():
    """Awaiting Calls: the caseworker's allocated requests, soonest first."""
    rows = db.session.scalars(select(CallBackRequest).where(
        CallBackRequest.status == "Awaiting Calls",
        CallBackRequest.caseworker_id == current_user.id)
        .order_by(CallBackRequest.anytime, CallBackRequest.next_call_at.is_(None),
                  CallBackRequest.next_call_at, CallBackRequest.required_at))
    return _list("Awaiting Calls", rows, services.counts())


@bp.get("/closed")
@staff_required
def closed():
    """Completed and unsuccessful requests, newest first."""
    rows = db.session.scalars(select(CallBackRequest).where(
        CallBackRequest.status.in_(["Completed", "Unsuccessful"]),
        services.visible_to(current_user))
        .order_by(CallBackRequest.closed_at.desc()).limit(200))
    return _list("Closed requests", rows, services.counts())


def _list(title: str, rows, counts: dict):
    """A queue page; who was shown which requests is audited."""
    rows = list(rows)
    audit.viewed_list(current_user, "call-back request", [r.id for r in rows],
                      ip=request.remote_addr)
    db.session.commit()
    return render_template("requests/list.html", title=title, rows=rows, counts=counts)


def _forms(req: CallBackRequest) -> dict:
    allocate = AllocateForm()
    attempt = AttemptForm()
    attempt.result.choices = [("", "Choose…")] + [(i.name, i.name) for i in offered("call_result")]
    attempt.outcome.choices = [("", "Choose…")] + [(i.name, i.name)
                                                   for i in offered("call_back_outcome")]
    if not attempt.made_at.data:
        attempt.made_at.data = london_format(utcnow())
    return {"allocate": allocate, "attempt": attempt, "stop": StopForm(), "attach": AttachForm()}


def _caseworker_groups(req: CallBackRequest) -> list[tuple[str, list[User]]]:
    """The receiving team's caseworkers first, then everyone else (team leaders only)."""
    if not current_user.has_role("supervisor") or req.status not in ("Awaiting Allocation",
                                                                      "Awaiting Calls"):
        return []
    people = services.caseworkers(req)
    team = f"{req.team.name} (receiving team)" if req.team else "Receiving team"
    return [(team, [u for u, mine in people if mine]),
            ("Other caseworkers", [u for u, mine in people if not mine])]


def page(req: CallBackRequest, forms: dict | None = None, status: int = 200,
         found: list | None = None, q: str = ""):
    """The request page (also re-rendered with a refused form's errors); viewing is audited."""
    audit.viewed(current_user, "call-back request", req.id, ip=request.remote_addr)
    db.session.commit()
    return render_template("requests/show.html", req=req, forms=forms or _forms(req),
                           found=found or [], q=q, next_steps=services.next_steps(req),
                           max_attempts=services.attempt_limit(req),
                           may_record=services.may_record(req, current_user),
                           letters=services.needs_letters(req),
                           attempt_token=(request.form.get("form_token")
                                          if request.method == "POST" else None)
                           or submissions.new_token(),
                           caseworker_groups=_caseworker_groups(req),
                           attach_limit=size_label(
                               current_app.config["ATTACHMENT_MAX_BYTES"])), status


@bp.get("/<int:request_id>")
@staff_required
def show(request_id: int):
    """One request with its attempts (viewing is audited: it holds a person's details)."""
    req = visible_request(request_id)
    q = request.args.get("q", "")
    if len(q.strip()) >= 2:
        found = contact_services.search_contacts(q, per_page=8).items
    else:  # first word as first name, the rest as last name
        first, _, last = req.full_name.partition(" ")
        found = [d.contact for d in contact_services.possible_duplicates(
            first, last, req.contact_number, None)]
    audit.viewed_list(current_user, "contact", [c.id for c in found], ip=request.remote_addr)
    return page(req, found=found, q=q)


def _rerender(req: CallBackRequest, forms: dict, status: int = 422):
    return page(req, forms, status)


@bp.post("/<int:request_id>/allocate")
@supervisor_required
def allocate(request_id: int):
    """Allocate to a caseworker (email + live notification)."""
    req = visible_request(request_id)
    forms = _forms(req)
    if forms["allocate"].validate_on_submit():
        uid = forms["allocate"].caseworker.data
        number = whole_number(uid)
        worker = db.session.get(User, number) if number else None
        done = commit_change(services.allocate, req, worker, current_user,
                             current_app.config["BASE_URL"], _link(req))
        if not done:  # every refusal is about whom it goes to
            forms["allocate"].caseworker.errors.append(done.message)
            return _rerender(req, forms)
        assert worker is not None  # services.allocate refuses a missing caseworker
        flash(f"Allocated to {worker.name}.", "success")
        return redirect(url_for("requests.show", request_id=req.id))
    return _rerender(req, forms)


@bp.post("/<int:request_id>/attempts")
@staff_required
def attempt(request_id: int):
    """Record a call attempt (the allocated caseworker or a team leader)."""
    req = visible_request(request_id)
    forms = _forms(req)
    form = forms["attempt"]
    token = request.form.get("form_token")
    if submissions.already(token, "call attempt"):
        return _already_recorded(req)
    if form.validate_on_submit():
        made = parse_london(form.made_at.data or "") if form.made_at.data else utcnow()
        nxt = parse_london(form.next_call_at.data) if (form.next_call_at.data or "").strip() else None
        if made is None:
            form.made_at.errors.append("Enter the date and time of the call as dd/mm/yyyy HH:MM")
        elif (form.next_call_at.data or "").strip() and nxt is None:
            form.next_call_at.errors.append("Enter the next call as dd/mm/yyyy HH:MM")
        else:
            try:
                made_attempt = services.record_attempt(
                    req, made, form.result.data, form.notes.data, nxt,
                    form.outcome.data or None, current_user)
            except RuleError as exc:
                db.session.rollback()
                if not place_error(form, exc):
                    flash(str(exc), "error")
                return _rerender(req, forms, exc.status)
            submissions.remember(token, "call attempt", made_attempt.id)
            if submissions.commit_once(token, "call attempt"):  # its twin was saved first
                return _already_recorded(req)
            flash(f"Attempt recorded. Status: {req.status}.", "success")
            return redirect(url_for("requests.show", request_id=req.id))
    return _rerender(req, forms)


def _already_recorded(req: CallBackRequest):
    """A double click or a resent attempt form: the first one counted, this one does not."""
    flash("This attempt was already recorded (the form was sent twice); it counts once.",
          "info")
    return redirect(url_for("requests.show", request_id=req.id))


@bp.post("/<int:request_id>/stop")
@staff_required
def stop(request_id: int):
    """Stop calling, with a reason (the request ends Unsuccessful)."""
    req = visible_request(request_id)
    forms = _forms(req)
    form = forms["stop"]
    if form.validate_on_submit():
        done = commit_change(services.stop_calling, req, form.reason.data, current_user)
        if not done:
            form.reason.errors.append(done.message)
            return _rerender(req, forms, done.error.status if done.error else 422)
        flash("Calling stopped. The request is closed as Unsuccessful.", "success")
        return redirect(url_for("requests.show", request_id=req.id))
    return _rerender(req, forms)


@bp.post("/<int:request_id>/link")
@staff_required
def link(request_id: int):
    """Link to a contact, and/or turn the request into a case."""
    req = visible_request(request_id)
    if not AllocateForm().is_submitted():
        abort(400)
    contact_id = request.form.get("contact_id", type=int)
    if contact_id:
        contact = db.get_or_404(Contact, contact_id)
        services.link_contact(req, contact, current_user)
    if request.form.get("make_case"):
        made = commit_change(services.make_case, req, current_user)
        if not made:
            flash(made.message, "error")
            return redirect(url_for("requests.show", request_id=req.id))
        case = made.value
        assert case is not None  # a committed Outcome holds what make_case returned
        flash(f"Case {case.reference} created with the request's history.", "success")
        return redirect(url_for("cases.show", case_id=case.id))
    db.session.commit()
    flash("Contact linked.", "success")
    return redirect(url_for("requests.show", request_id=req.id))


@bp.get("/paper")
@staff_required
def paper():
    """The downtime paper form: one printable A4 page with the same fields."""
    return render_template("requests/paper.html", natures=NATURES, reasons=EXISTING_REASONS,
                           results=[i.name for i in offered("call_result")],
                           outcomes=[i.name for i in offered("call_back_outcome")])
