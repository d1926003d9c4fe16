"""Active Contacts (home), new/edit contact, contact page, verification, lookups."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import audit, site_settings, submissions
from ..auth.guard import staff_required, supervisor_required
from ..extensions import commit_keeping_loaded, db
from ..htmx import is_htmx, render
from ..numbers import MAX_ID, whole_number
from ..rules import commit_change
from . import bp, postcodes, services, signals
from .access import log_owner_access, owner_access
from .forms import ContactForm, EditContactForm, MergeForm, VerifyForm
from .models import Contact

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _ip() -> str | None:
    return request.remote_addr


def _contact_or_404(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or not contact.active:
        abort(404, description="There is no active contact with that number.")
    return contact


@bp.get("/")
@staff_required
def index():
    """Active Contacts: A–Z bar, "Search this view", paginated rows."""
    q = request.args.get("q", "")[:500]
    letter = request.args.get("letter", "")
    page = request.args.get("page", 1, type=int) or 1
    results = services.search_contacts(q, letter, page)
    audit.viewed_list(current_user, "contact", [c.id for c in results.items], ip=_ip())
    commit_keeping_loaded()  # the audit entry; the rows found are not read again one by one
    return render("contacts/index.html", "contacts/_rows.html", results=results, q=q,
                  letter=letter, letters=LETTERS)


def _duplicates_for(form: ContactForm, exclude_id: int | None = None):
    return services.possible_duplicates(form.first_name.data, form.last_name.data,
                                        form.phone.data, form.postcode.data, exclude_id)


@bp.route("/contacts/new", methods=["GET", "POST"])
@staff_required
def new():
    """New contact: consent first; mandatory fields follow the consent status."""
    form = ContactForm()
    from_request = _call_back_request(request.values.get("from_request", type=int))
    if from_request is not None and request.method == "GET":
        _prefill_from_request(form, from_request)
    elif request.method == "GET" and request.args.get("phone"):  # a ringing call's panel
        form.phone.data = request.args["phone"][:40]
    token = request.form.get("form_token") or submissions.new_token()
    done = submissions.already(request.form.get("form_token"), "contact")
    if done:  # a double click or a resent form: show what the first one saved
        return redirect(url_for("contacts.show", contact_id=done))
    if form.validate_on_submit():
        contact = services.create_contact(form.values(), current_user, session.get("sid"), _ip())
        submissions.remember(token, "contact", contact.id)
        if from_request is not None:
            from_request.link(contact, current_user)
        twin = submissions.commit_once(token, "contact")
        if twin:  # its twin was saved a moment ago
            return redirect(url_for("contacts.show", contact_id=twin))
        flash(f"Contact {contact.full_name} saved.", "success")
        if from_request is not None:
            flash(f"Linked to {from_request.record_type} {from_request.id}.", "success")
            return redirect(from_request.url)
        if form.save_close.data:
            return redirect(url_for("contacts.index"))
        return redirect(url_for("contacts.show", contact_id=contact.id))
    duplicates = _duplicates_for(form) if request.method == "POST" else []
    if from_request is not None:  # its name, number and address fill the form
        audit.viewed(current_user, from_request.record_type, from_request.id, ip=_ip())
    audit.viewed_list(current_user, "contact", [d.contact.id for d in duplicates], ip=_ip())
    db.session.commit()
    return render_template("contacts/new.html", form=form,
                           statement=site_settings.consent_statement(), duplicates=duplicates,
                           form_token=token, from_request=from_request), \
        (422 if form.errors else 200)


def _call_back_request(request_id: int | None) -> signals.ContactSource | None:
    """The call-back request a new contact is being created from (if the user may see it)."""
    if not request_id:
        return None
    found = [src for _receiver, src in signals.new_contact_source.send(
        request_id, user=current_user) if src]
    if not found:
        abort(404, description="There is no call-back request with that number.")
    if not found[0].allowed:
        abort(403, description="This call-back request is another team's: you cannot make "
                               "a contact from it.")
    return found[0]


def _prefill_from_request(form: ContactForm, source: signals.ContactSource) -> None:
    """What the caller gave on the call-back request, so nothing is typed twice."""
    for name, value in source.prefill.items():
        field = getattr(form, name)
        field.data = field.data or value


@bp.get("/contacts/duplicates")
@staff_required
def duplicates():
    """Side panel of likely existing contacts, while the name/phone/postcode is typed."""
    args = request.args
    found = services.possible_duplicates(args.get("first_name"), args.get("last_name"),
                                         args.get("phone"), args.get("postcode"),
                                         args.get("exclude", type=int))
    audit.viewed_list(current_user, "contact", [d.contact.id for d in found], ip=_ip())
    db.session.commit()
    return render_template("contacts/_duplicates.html", duplicates=found)


@bp.get("/contacts/postcode-lookup")
@staff_required
def postcode_lookup():
    """Postcode (Lookup) autocomplete: suggestions, and the region when the code is known.
    `p=b-` serves the case screen's Quick Create, whose fields are prefixed."""
    p = "b-" if request.args.get("p") == "b-" else ""
    typed = request.args.get(p + "postcode_area", "")
    if request.args.get("from_postcode") and not typed.strip():
        typed = postcodes.area_of(request.args.get(p + "postcode")) or ""
    chosen = request.args.get("choose")
    area = postcodes.lookup(chosen or typed)
    suggestions = [] if chosen else postcodes.suggest(typed)
    if area and len(suggestions) == 1:
        suggestions = []
    template = ("contacts/_postcode_lookup.html" if chosen or request.args.get("from_postcode")
                else "contacts/_postcode_suggestions.html")
    return render_template(template, typed=(area.code if chosen and area else typed),
                           area=area, suggestions=suggestions, p=p)


@bp.get("/contacts/<int:contact_id>")
@staff_required
def show(contact_id: int):
    """Contact page; cases stay hidden from volunteers until the caller is verified."""
    contact = _contact_or_404(contact_id)
    audit.viewed(current_user, "contact", contact.id, ip=_ip())
    db.session.commit()
    verified = services.is_verified(contact, current_user, session.get("sid"))
    found = None if verified else owner_access(contact, current_user)
    if found is not None:  # the work is theirs: no fresh verification, audited as such
        verified = True
        log_owner_access(current_user, "contact", contact.id, found, ip=_ip())
    db.session.commit()
    # not verified but the work is theirs: only the cases whose work is theirs
    page = max(whole_number(request.args.get("cases_page"), upper=MAX_ID // 25) or 1, 1)
    cases = next((shown for _receiver, shown in signals.cases_shown.send(
        contact, user=current_user, only_own=found is not None, page=page)), None) \
        if verified else None
    return render_template("contacts/show.html", contact=contact, verified=verified,
                           cases=cases, verify_form=VerifyForm(), owner_access=found)


@bp.post("/contacts/<int:contact_id>/verify")
@staff_required
def verify(contact_id: int):
    """Record that the caller passed verification (audited)."""
    contact = _contact_or_404(contact_id)
    form = VerifyForm()
    if form.validate_on_submit():
        details = form.details.data
        assert details is not None  # VerifyForm.validate refuses a post without any
        services.verify(contact, current_user, session.get("sid"), details, _ip())
        db.session.commit()
        flash("Caller verified. Case details are now shown.", "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    audit.viewed(current_user, "contact", contact.id, ip=_ip())
    db.session.commit()
    return render_template("contacts/show.html", contact=contact, verified=False, cases=None,
                           verify_form=form), 422


def _save_contact(contact: Contact, form: EditContactForm) -> str | None:
    """Save the edit; a change that needs a reason is noted on a case (its reference)."""
    changes = services.update_contact(contact, form.values(), form.reason.data,
                                      current_user, _ip())
    if not any(k in services.REASON_FIELDS for k in changes):
        return None
    text = services.describe_changes(changes, form.reason.data)
    noted = [ref for _receiver, ref in signals.details_noted.send(
        contact, text=text, actor=current_user) if ref]
    return noted[0] if noted else None


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(contact_id: int):
    """Edit a contact; name, phone, postcode and address changes need a reason."""
    contact = _contact_or_404(contact_id)
    found = owner_access(contact, current_user)
    if found is not None and found.view_only:
        if request.method == "POST":
            abort(403, description="You have view-only access to this person for one call "
                                   "back: you cannot change their details.")
        flash("You have view-only access to this person for one call back: you cannot "
              "change their details.", "error")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    if not services.is_verified(contact, current_user, session.get("sid")):
        # owning one case of theirs is not enough to change a person's details
        flash("Verify the caller before changing their details.", "error")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    form = EditContactForm(obj=contact)
    if form.validate_on_submit():
        saved = commit_change(_save_contact, contact, form, form=form)
        if saved:
            flash("Contact details saved." + (f" The change was noted on {saved.value}, now "
                  "Ready for review." if saved.value else ""), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    audit.viewed(current_user, "contact", contact.id, ip=_ip())
    db.session.commit()
    return render_template("contacts/edit.html", form=form, contact=contact,
                           statement=site_settings.consent_statement()), \
        (422 if form.errors else 200)


@bp.app_template_global()
def htmx_request() -> bool:
    """Templates may skip page chrome for htmx requests."""
    return is_htmx()


@bp.app_template_global()
def lookup_area(code: str | None):
    """The postcode area for a code, for templates."""
    return postcodes.lookup(code)


@bp.route("/contacts/<int:contact_id>/merge", methods=["GET", "POST"])
@supervisor_required
def merge(contact_id: int):
    """Merge duplicates (supervisor): pick the other contact, choose surviving values."""
    contact = _contact_or_404(contact_id)
    other_id = request.values.get("other", type=int)
    other = db.session.get(Contact, other_id) if other_id else None
    if other is None or not other.active or other.id == contact.id:
        q = request.args.get("q", "")
        candidates = [d.contact for d in services.possible_duplicates(
            contact.first_name, contact.last_name, contact.phone, contact.postcode, contact.id)]
        search = q.strip() or contact.last_name
        if search:  # by default, everyone with the same surname after the likely duplicates
            found = services.search_contacts(search).items
            candidates = ([] if q.strip() else candidates) + [
                c for c in found if c.id != contact.id and c not in candidates]
        audit.viewed_list(current_user, "contact", [contact.id] + [c.id for c in candidates],
                          ip=_ip())
        db.session.commit()
        return render_template("contacts/merge_pick.html", contact=contact,
                               candidates=candidates, q=q)
    form = MergeForm()
    if form.validate_on_submit():
        take = [f for f in services.MERGE_FIELDS if request.form.get(f) == "other"]
        merged_name = other.full_name  # the merged-away contact is erased by the merge
        services.merge_contacts(contact, other, take, current_user, _ip())
        db.session.commit()
        flash(f"Merged {merged_name} into {contact.full_name}. Their cases, interactions and "
              "call-back requests are now here.", "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    audit.viewed_list(current_user, "contact", [contact.id, other.id], ip=_ip())
    db.session.commit()
    fields = [(f, services.FIELD_LABELS.get(f, f), getattr(contact, f), getattr(other, f))
              for f in services.MERGE_FIELDS]
    return render_template("contacts/merge.html", contact=contact, other=other, form=form,
                           fields=fields)
