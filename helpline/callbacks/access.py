"""Call backs answer "whose work is this?" for cases and contacts (see contacts.access):
the owner of an open call back on the case, and a view-only hand-over."""
from __future__ import annotations

from sqlalchemy import or_, select

from ..auth.models import User
from ..cases.models import Case
from ..cases.signals import case_access
from ..contacts.access import CALL_BACK_OWNER, FULL, HAND_OVER, VIEW, Access, best, contact_access
from ..contacts.models import Contact
from ..extensions import db
from .models import OPEN, CallBack, CaseViewGrant


def cases_of(contact: Contact):
    """The cases a contact is on (caller or beneficiary), as a WHERE clause."""
    return or_(Case.caller_id == contact.id, Case.beneficiary_id == contact.id)


def live_grant(case_id: int, user_id: int) -> CaseViewGrant | None:
    """The user's view-only hand-over of this case, while it lasts."""
    return db.session.scalar(select(CaseViewGrant).where(
        CaseViewGrant.case_id == case_id, CaseViewGrant.user_id == user_id,
        CaseViewGrant.ended_at.is_(None)).order_by(CaseViewGrant.id.desc()).limit(1))


def _grant_access(grant: CaseViewGrant | None) -> Access | None:
    if grant is None:
        return None
    return Access(VIEW, f"view-only hand-over for call back {grant.callback_id}", HAND_OVER,
                  grant.callback_id)


def _owner_access(cb_id: int | None) -> Access | None:
    return Access(FULL, f"owner of call back {cb_id}", CALL_BACK_OWNER, cb_id) if cb_id else None


@case_access.connect
def _for_case(case: Case, user: User, **_kw) -> Access | None:
    cb_id = db.session.scalar(select(CallBack.id).where(
        CallBack.case_id == case.id, CallBack.owner_id == user.id,
        CallBack.status.in_(OPEN)).limit(1))
    return best([_grant_access(live_grant(case.id, user.id)), _owner_access(cb_id)])


@contact_access.connect
def _for_contact(contact: Contact, user: User, **_kw) -> Access | None:
    grant = db.session.scalar(select(CaseViewGrant).join(Case, CaseViewGrant.case_id == Case.id)
                              .where(cases_of(contact), CaseViewGrant.user_id == user.id,
                                     CaseViewGrant.ended_at.is_(None)).limit(1))
    cb_id = db.session.scalar(select(CallBack.id).join(Case, CallBack.case_id == Case.id).where(
        cases_of(contact), CallBack.owner_id == user.id, CallBack.status.in_(OPEN)).limit(1))
    return best([_grant_access(grant), _owner_access(cb_id)])
