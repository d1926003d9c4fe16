"""Who the work on a case belongs to (see contacts.access): the case owner and its current
assignee; call backs and hand-overs answer `case_access` from above. The views' checks
(`case_or_404`, `require_access`) are here too, so every case route asks the same way."""
from __future__ import annotations

from flask import abort, request, session
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..contacts import services as contact_services
from ..contacts import signals as contact_signals
from ..contacts.access import CASE_OWNER, FULL, Access, best, contact_access, log_owner_access
from ..contacts.models import Contact
from ..extensions import db
from .models import REFERENCE_OFFSET, Case
from .service_desk import in_team_queue
from .services import cases_for_contact
from .signals import case_access


def owner_access(case: Case, user: User) -> Access | None:
    """How the work on this case belongs to `user`, if it does."""
    own = None
    if case.owner_id == user.id:
        own = Access(FULL, f"case owner of {case.reference}", CASE_OWNER)
    elif case.assignee_id == user.id:
        own = Access(FULL, f"assignee of {case.reference}", CASE_OWNER)
    elif in_team_queue(case, user):
        own = Access(FULL, f"team queue of {case.reference}", CASE_OWNER)
    return best([own] + [result for _, result in case_access.send(case, user=user)])


def cases_of(contact: Contact):
    """The cases a contact is on (caller or beneficiary), as a WHERE clause."""
    return or_(Case.caller_id == contact.id, Case.beneficiary_id == contact.id)


@contact_access.connect
def _own_cases(contact: Contact, user: User, **_kw) -> Access | None:
    case_id = db.session.scalar(select(Case.id).where(
        cases_of(contact), or_(Case.owner_id == user.id, Case.assignee_id == user.id))
        .order_by(Case.id.desc()).limit(1))
    if case_id is None:
        return None
    return Access(FULL, f"owner or assignee of CA{case_id + REFERENCE_OFFSET}", CASE_OWNER)


VIEW_ONLY = ("You have view-only access to {ref} for call back {cb}, handed over by a team "
             "leader: you can see the case but change only the call back. Ask a team leader "
             "if the case itself needs a change.")


def case_or_404(case_id: int) -> Case:
    return db.get_or_404(Case, case_id, description="There is no case with that number.")


def require_verified(contact: Contact) -> None:
    """403 unless the signed-in user verified this caller in this session."""
    if not contact_services.is_verified(contact, current_user, session.get("sid")):
        abort(403, description="Verify the caller on the contact page before case details "
                               "are shown.")


def require_access(case: Case, change: bool = False) -> Access | None:
    """The people the work belongs to open the case without verifying (a view-only
    hand-over may look, never change); everyone else has verified the caller this session.
    Returns the ownership that let them in, if any."""
    found = owner_access(case, current_user)
    if found is not None and found.view_only and change:
        abort(403, description=VIEW_ONLY.format(ref=case.reference, cb=found.callback_id))
    if found is None:
        require_verified(case.caller)
    return found


def log_opened_by_ownership(case: Case, found: Access | None) -> None:
    """An opening that ownership allowed in place of a verification is audited as such."""
    if found is not None and contact_services.needs_verification(current_user) and \
            not contact_services.is_verified(case.caller, current_user, session.get("sid")):
        log_owner_access(current_user, "case", case.reference, found, ip=request.remote_addr)


CASES_PER_PAGE = 25  # Caller Cases a page on the contact page


@contact_signals.cases_shown.connect
def _cases_shown(contact: Contact, user: User, only_own: bool, page: int = 1, **_kw):
    """The contact page's cases, one page of them: all, or only those whose work is the
    user's (worked out case by case, then paged by id)."""
    where = cases_of(contact)
    if only_own:
        where = Case.id.in_([c.id for c in cases_for_contact(contact)
                             if owner_access(c, user) is not None])
    stmt = (select(Case).where(where).options(selectinload(Case.owner))
            .order_by(Case.created_at.desc(), Case.id.desc()))
    shown = db.paginate(stmt, page=page, per_page=CASES_PER_PAGE, error_out=False, count=True)
    if page > shown.pages > 0:  # past the end: the last page
        shown = db.paginate(stmt, page=shown.pages, per_page=CASES_PER_PAGE, error_out=False)
    return shown
