"""What the case screen shows, gathered in one place: the form (from the case or from the
post), its rows, and what a refused save, a conflict or a service-desk form adds to it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from .. import audit, site_settings, submissions
from ..auth.models import Team, User
from ..contacts import services as contact_services
from ..contacts.access import Access
from ..contacts.forms import ContactForm
from ..contacts.models import Contact
from ..extensions import db
from ..lookups.cache import offered_items
from ..numbers import whole_number
from ..timeutil import utcnow
from . import rows, service_desk, services
from .forms import AssignForm, CaseForm, CloseForm, NoteForm, OwnerForm, ResolveForm, from_bool
from .models import READY, WHO_REQUIRES, Case

YES_NO_FIELDS = ("beneficiary_consent", "psychosocial_support", "safeguarding_activated",
                 "feedback_consent")


def case_form(case: Case | None, posted: bool | None = None) -> CaseForm:
    """The screen's form: the posted values, or the case's own (a new case: the defaults).
    `posted=False`: the case's own on a POST too (a refused service-desk form)."""
    if posted is None:
        posted = request.method == "POST"
    if posted or case is None:
        form = CaseForm()
    else:
        form = CaseForm(formdata=None, obj=case)
        for name in YES_NO_FIELDS:
            getattr(form, name).data = from_bool(getattr(case, name))
        form.ready_for_review.data = "yes" if case.review_state == READY else "no"
        form.beneficiary_id.data = str(case.beneficiary_id or "")
        form.version.data = str(case.version)
        form.note.data = ""
    if not form.loaded_at.data:
        form.loaded_at.data = utcnow().isoformat(timespec="seconds")
    return form


def service_desk_forms(case: Case, resolve: ResolveForm | None = None,
                       close: CloseForm | None = None, assign: AssignForm | None = None,
                       owner: OwnerForm | None = None) -> dict:
    """The service-desk panel: Assign's and Change owner's choices (the people who handle
    cases), Resolve, Close, Assign and Change owner with their errors after a refusal, and
    which actions this user may take."""
    assign = assign or AssignForm(formdata=None)
    # the choices need each person's id and name only (not whole users: hundreds of them)
    users = db.session.execute(select(User.id, User.name).where(
        service_desk.handles_cases_where()).order_by(User.name)).all()
    owner = owner or OwnerForm(formdata=None)
    owner.owner.choices = [("", "Choose…")] + [(str(u.id), u.name) for u in users
                                               if u.id != case.owner_id]
    teams = db.session.scalars(select(Team).order_by(Team.name))
    assign.assignee.choices = [("", "Choose…")] + [
        (f"team-{t.id}", f"Team: {t.name}") for t in teams] + [
        (f"user-{u.id}", u.name) for u in users]
    return {"assign": assign, "resolve": resolve or ResolveForm(formdata=None),
            "close": close or CloseForm(formdata=None), "owner": owner,
            "may_hand_over": current_user.has_role("supervisor")
            or current_user.id == case.owner_id,
            "owners_close": service_desk.owners_close_refusal(case, current_user, False) is None,
            "may_close": service_desk.close_refusal(case, current_user, False) is None,
            "may_quick_close": case.status == "Solved"
            and service_desk.close_refusal(case, current_user, True) is None
            and current_user.id in (case.owner_id, case.assignee_id),
            "may_work": service_desk.desk_refusal(case, current_user) is None,
            "may_acknowledge": service_desk.acknowledge_refusal(case, current_user) is None}


@dataclass
class CaseScreen:
    """One showing of the case screen (a new case when `case` is None)."""

    case: Case | None
    caller: Contact
    form: CaseForm
    signposts: list[rows.SignpostRow]
    referrals: list[rows.ReferralRow]
    view_only: Access | None = None
    form_token: str | None = None  # New Case is once-only (see submissions)
    conflict: list | None = None  # what others saved since the form was loaded
    qform: ContactForm | None = None  # Quick Create without JavaScript
    resolve_form: ResolveForm | None = None  # a refused Resolve, shown with its errors
    close_form: CloseForm | None = None  # a supervisor's Close without a reason
    assign_form: AssignForm | None = None  # a refused Assign, shown with its message
    owner_form: OwnerForm | None = None  # a refused Change owner, shown with its message

    @classmethod
    def for_request(cls, case: Case | None, caller: Contact,
                    view_only: Access | None = None) -> CaseScreen:
        posted = request.method == "POST"
        if posted:
            signposts, referrals = (rows.parse_signposts(request.form),
                                    rows.with_saved_status(rows.parse_referrals(request.form),
                                                           case))
        else:
            signposts = rows.signpost_rows_of(case) if case else []
            referrals = rows.referral_rows_of(case) if case else []
        token = (request.form.get("form_token") or submissions.new_token()) \
            if case is None else None
        return cls(case, caller, case_form(case), signposts, referrals, view_only, token)

    @classmethod
    def for_desk(cls, case: Case) -> CaseScreen:
        """The saved case's screen after a refused service-desk form (the post carries only
        that form, not the case's fields)."""
        return cls(case, case.caller, case_form(case, posted=False),
                   rows.signpost_rows_of(case), rows.referral_rows_of(case))

    @property
    def failed(self) -> bool:
        return bool(self.form.errors or self.conflict is not None
                    or (self.qform is not None and self.qform.errors)
                    or (self.resolve_form is not None and self.resolve_form.errors)
                    or (self.close_form is not None and self.close_form.errors)
                    or (self.assign_form is not None and self.assign_form.errors)
                    or (self.owner_form is not None and self.owner_form.errors)
                    or any(r.error for r in self.signposts)
                    or any(r.errors for r in self.referrals))

    @property
    def status(self) -> int:
        if self.conflict is not None:
            return 409
        return 422 if self.failed and request.method == "POST" else 200

    def beneficiary(self) -> Contact | None:
        if self.form.who_requires_support.data != WHO_REQUIRES[1]:
            return self.caller
        ben = self.form.beneficiary_id.data
        ben_id = whole_number(ben)
        return db.session.get(Contact, ben_id) if ben_id is not None else None

    def found(self) -> list[Contact]:
        """The beneficiary search of a no-JavaScript post (its results are a view: audited)."""
        q = request.form.get("beneficiary_q", "").strip()
        found = contact_services.search_contacts(q, per_page=8).items if len(q) >= 2 else []
        found = [c for c in found if c.id != self.caller.id]
        audit.viewed_list(current_user, "contact", [c.id for c in found],
                          ip=request.remote_addr)
        db.session.commit()
        return found

    def render(self):
        case = self.case
        page = render_template(
            "cases/edit.html", form=self.form, case=case, caller=self.caller,
            signposts=self.signposts, referrals=self.referrals, found=self.found(),
            failed=self.failed, conflict=self.conflict, note_form=NoteForm(),
            beneficiary=self.beneficiary(), categories=offered_items("signpost_category"),
            types=offered_items("local_response_type"),
            history=services.case_history(case, field=("Status", "Review")) if case else [],
            desk=service_desk_forms(case, self.resolve_form, self.close_form, self.assign_form,
                                    self.owner_form) if case else None,
            qform=self.qform, statement=site_settings.consent_statement(),
            form_token=self.form_token, view_only=self.view_only)
        return page, self.status
