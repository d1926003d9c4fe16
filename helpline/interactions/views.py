"""New interaction, interaction page, handler picker, case and enquirer lookups."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import audit, submissions
from ..auth.guard import staff_required
from ..auth.models import User
from ..cases.models import Case
from ..contacts import services as contact_services
from ..contacts.models import Contact
from ..extensions import add_error, db
from ..htmx import render
from ..lookups.models import LookupItem, offered
from ..numbers import MAX_ID, whole_number
from . import bp, services, signals
from .forms import InteractionForm
from .models import Interaction

HANDLERS_PER_PAGE = 25


def _is_id(value: str) -> bool:
    # plain 0-9 that fit a database integer ("²" passes str.isdigit(), int() fails on it)
    return value.isascii() and value.isdigit() and len(value) <= 18


def _id(values, name: str) -> int:
    """One id from the query or form, 0 when it is no id (never more than the database
    holds: a 30-digit number overflowed SQLite)."""
    value = values.get(name, "")
    return int(value) if _is_id(value) else 0


def _ids(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if _is_id(v)]


def _choices(form: InteractionForm) -> None:
    def opts(list_name):
        return [("", "Choose…")] + [(str(i.id), i.name) for i in offered(list_name)]
    form.method_id.choices = opts("interaction_method")
    form.call_state_id.choices = opts("call_state")
    form.out_of_remit_reason_id.choices = opts("out_of_remit_reason")


def link(interaction: Interaction) -> str:
    return current_app.config["BASE_URL"] + url_for("interactions.show",
                                                    interaction_id=interaction.id)


def chosen_handlers(errors: list[str]) -> list[User]:
    users = []
    if any(not _is_id(v) for v in request.form.getlist("handlers")):
        errors.append("Unknown handler: choose handlers from the suggestions")
    for uid in _ids("handlers"):
        user = db.session.get(User, uid)
        if user is None or not user.active:
            errors.append("Unknown handler: choose handlers from the suggestions")
        else:
            users.append(user)
    return users


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    """Record a call, email or message."""
    form = InteractionForm()
    _choices(form)
    # Once-only: a resent form goes to the interaction its first post made (one mail).
    token = request.form.get("form_token") or submissions.new_token()
    done = submissions.already(request.form.get("form_token"), "interaction")
    if done and request.method == "POST":
        flash("This interaction was already saved: here it is.", "info")
        return redirect(url_for("interactions.show", interaction_id=done))
    handler_errors: list[str] = []
    contact = db.session.get(Contact, _id(request.values, "contact_id"))
    case = db.session.get(Case, _id(request.values, "case_id"))
    if request.method == "GET":
        form.prefill(request.args)  # a call's screen-pop link (telephony)
        form.default_date()
        if case is not None:
            form.case_ref.data = services.case_label(case)
            contact = contact or case.caller
        form.method_id.data = next((str(i.id) for i in offered("interaction_method")
                                    if i.name == "Phone Call"), "")
    handlers = chosen_handlers(handler_errors) if request.method == "POST" else [current_user]
    enquirer_id = _id(request.form, "enquirer_id") if request.method == "POST" else (
        contact.id if contact else None)
    enquirer = db.session.get(Contact, enquirer_id) if enquirer_id else None
    if request.method == "POST" and request.form.get("row_action") != "find":
        valid, chosen_case = _checked(form, enquirer, handlers, handler_errors)
        if valid:
            interaction = _create(form, enquirer, chosen_case, handlers)
            db.session.flush()
            submissions.remember(token, "interaction", interaction.id)
            twin = submissions.commit_once(token, "interaction")
            if twin:  # its twin, posted at the same moment, was saved
                flash("This interaction was already saved: here it is.", "info")
                return redirect(url_for("interactions.show", interaction_id=twin))
            return _saved(interaction)
    q = request.form.get("handler_q", "")
    found = _enquirer_search(request.form.get("enquirer_q", ""))
    audit.viewed_list(current_user, "contact", [c.id for c in [enquirer] + found if c],
                      ip=request.remote_addr)
    db.session.commit()
    return render_template(
        "interactions/new.html", form=form, handlers=handlers, handler_errors=handler_errors,
        enquirer=enquirer, interventions=offered("emergency_intervention"),
        chosen_interventions=set(_ids("interventions")),
        handler_results=services.suggest_handlers(q) if q else [],
        enquirer_results=found,
        form_token=token,
    ), (422 if request.method == "POST" else 200)


def _checked(form: InteractionForm, enquirer: Contact | None, handlers: list,
             handler_errors: list[str]) -> tuple[bool, Case | None]:
    """The form's own checks, then the case, the Enquirer and the handlers (messages at
    their fields); returns whether all passed, and the chosen case."""
    valid = form.validate_on_submit()
    chosen_case = services.find_case(form.case_ref.data) if form.case_ref.data else None
    if form.case_ref.data and chosen_case is None:
        add_error(form.case_ref, f"There is no case {form.case_ref.data.split(' ')[0]}. "
                                    "Choose a case from the suggestions")
        valid = False
    if not form.fully_anonymous.data and enquirer is None:
        add_error(form.fully_anonymous, "Choose the Enquirer or tick Fully Anonymous")
        valid = False
    if not handlers and not handler_errors:
        handler_errors.append("Choose at least one Interaction Handler")
    return valid and not handler_errors, chosen_case


def _saved(interaction: Interaction):
    flash(f"Interaction {interaction.reference} saved.", "success")
    if interaction.call_back_required and interaction.case_id:
        flash("Call Back Required: set up the call back now.", "info")
        return redirect(url_for("callbacks.new", case_id=interaction.case_id))
    return redirect(url_for("interactions.show", interaction_id=interaction.id))


def _create(form: InteractionForm, enquirer, case, handlers) -> Interaction:
    def lookup(value):
        return whole_number(value)
    values = {
        "fully_anonymous": bool(form.fully_anonymous.data),
        "enquirer_id": None if form.fully_anonymous.data else enquirer.id,
        "enquirer_country": form.enquirer_country.data or None,
        "interaction_date": form.parsed_date, "method_id": lookup(form.method_id.data),
        "direction": form.direction.data, "call_state_id": lookup(form.call_state_id.data),
        "duration_mins": form.parsed_duration, "case_id": case.id if case else None,
        "out_of_remit": bool(form.out_of_remit.data),
        "out_of_remit_reason_id": lookup(form.out_of_remit_reason_id.data)
        if form.out_of_remit.data else None,
        "community": bool(form.community.data), "covid_related": bool(form.covid_related.data),
        "notes": (form.notes.data or "").strip() or None,
        "call_back_required": bool(form.call_back_required.data),
    }
    chosen = [i for i in offered("emergency_intervention") if i.id in set(_ids("interventions"))]
    interaction = services.create_interaction(values, [], chosen, current_user, "")
    services.add_handlers(interaction, handlers, current_user, link(interaction))
    db.session.flush()
    signals.interaction_created.send(interaction, call_ref=form.call_id.data or None,
                                     actor=current_user)
    return interaction


# --- pickers ------------------------------------------------------------------

@bp.get("/handlers/search")
@staff_required
def handler_search():
    """Best matches as the handler types two or more letters (combobox options)."""
    q = request.args.get("handler_q", "")
    return render_template("interactions/_handler_options.html",
                           users=services.suggest_handlers(q), q=q)


@bp.get("/handlers/chip/<int:user_id>")
@staff_required
def handler_chip(user_id: int):
    """A chosen handler (hidden input + remove button)."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        abort(404)
    return render_template("interactions/_handler_chip.html", user=user)


@bp.get("/handlers")
@staff_required
def handler_list():
    """Search More…: every handler with the seed's columns, filterable and paginated."""
    q = request.args.get("q", "").strip()
    # clamped: a 30-digit page overflowed the database's integers
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)
    stmt = select(User).where(User.active.is_(True))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(like), func.lower(User.email).like(like)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = list(db.session.scalars(stmt.order_by(User.name)
                                    .offset((page - 1) * HANDLERS_PER_PAGE).limit(HANDLERS_PER_PAGE)))
    pick = request.args.get("pick") == "1"
    return render("interactions/handlers.html", "interactions/_handler_table.html",
                  users=users, q=q, page=page, total=total, pick=pick,
                  pages=max(1, -(-total // HANDLERS_PER_PAGE)))


def _enquirer_search(q: str) -> list[Contact]:
    return contact_services.search_contacts(q, per_page=8).items if len(q.strip()) >= 2 else []


@bp.get("/enquirers")
@staff_required
def enquirer_search():
    """Enquirer autocomplete over contacts."""
    q = request.args.get("enquirer_q", "")
    found = _enquirer_search(q)
    audit.viewed_list(current_user, "contact", [c.id for c in found], ip=request.remote_addr)
    db.session.commit()
    return render_template("interactions/_enquirer_results.html", found=found, q=q)


@bp.get("/cases")
@staff_required
def case_search():
    """Case Reference autocomplete: 'CA45011 (Robert Livingstone, 28/01/2021)'."""
    q = request.args.get("case_ref", "").strip()
    cases = []
    if q:
        case = services.find_case(q)
        if case:
            cases = [case]
        elif len(q) >= 2:
            contacts = contact_services.search_contacts(q, per_page=5).items
            cases = list(db.session.scalars(select(Case).where(
                Case.caller_id.in_([c.id for c in contacts])).order_by(Case.created_at.desc())
                .limit(8))) if contacts else []
    # the labels name the caller
    audit.viewed_list(current_user, "case", [c.reference for c in cases], ip=request.remote_addr)
    db.session.commit()
    return render_template("interactions/_case_options.html",
                           options=[(c, services.case_label(c)) for c in cases])


@bp.app_template_global()
def interactions_of(contact_id: int | None = None, case_id: int | None = None):
    """Interactions for contact and case pages, newest first: the page `interactions_page`
    asks for (a whole number, else the first)."""
    page = whole_number(request.args.get("interactions_page"),
                        upper=MAX_ID // services.LIST_PER_PAGE) or 1
    return services.interactions_for(contact_id, case_id, page=max(page, 1))


@bp.app_template_global()
def lookup_items(list_name: str) -> list[LookupItem]:
    """Items offered for a lookup list."""
    return offered(list_name)


@bp.app_template_global()
def case_label(case: Case) -> str:
    """CA45011 (Robert Livingstone, 28/01/2021)."""
    return services.case_label(case)
