"""Who the work on a case belongs to (see contacts.access): the case owner and its current
assignee; call backs and hand-overs answer `case_access` from above."""
from __future__ import annotations

from sqlalchemy import or_, select

from ..auth.models import User
from ..contacts.access import CASE_OWNER, FULL, Access, best, contact_access
from ..contacts.models import Contact
from ..extensions import db
from .models import REFERENCE_OFFSET, Case
from .signals import case_access


def owner_access(case: Case, user: User) -> Access | None:
    """How the work on this case belongs to `user`, if it does."""
    own = None
    if case.owner_id == user.id:
        own = Access(FULL, f"case owner of {case.reference}", CASE_OWNER)
    elif case.assignee_id == user.id:
        own = Access(FULL, f"assignee of {case.reference}", CASE_OWNER)
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
