"""View-only hand-over: a team leader passes a call back to a caseworker who does not own
the case; they see the case and contact and change only the call back (seed 001, "When you
receive a formal call back request", last paragraph). Ends when the call back closes or
moves on."""
from __future__ import annotations

from sqlalchemy import select

from .. import audit
from ..auth.models import User
from ..extensions import db
from ..notifications.services import notify
from ..rules import RuleError
from ..timeutil import london_format, utcnow
from .models import CallBack, CaseViewGrant


def live_grants(cb: CallBack) -> list[CaseViewGrant]:
    """The call back's view-only hand-overs still in force (one at most, in practice)."""
    return list(db.session.scalars(select(CaseViewGrant).where(
        CaseViewGrant.callback_id == cb.id, CaseViewGrant.ended_at.is_(None))
        .order_by(CaseViewGrant.id)))


def end_grants(cb: CallBack, actor: User | None, reason: str, keep_user: int | None = None) -> int:
    """End the call back's view-only hand-overs (all, or all but `keep_user`'s)."""
    ended = 0
    for grant in live_grants(cb):
        if grant.user_id == keep_user:
            continue
        grant.ended_at, grant.end_reason = utcnow(), reason[:200]
        grant.ended_by_id = actor.id if actor is not None else None
        audit.record(actor, "hand-over-ended", "case", cb.case.reference if cb.case else cb.id,
                     reason=reason, changes={"View-only access": (grant.user.name, None)})
        ended += 1
    return ended


def hand_over(cb: CallBack, user: User | None, actor: User) -> CaseViewGrant:
    """A team leader hands a call back to a caseworker who does not own the case: they get
    the call back and view-only access to its case (the seed's "passed clerically")."""
    from .services import reassign  # services ends hand-overs (imports us)
    if cb.case is None:
        raise RuleError("Only a call back on a case can be handed over with view-only "
                            "access to the case", field="user_id")
    if not cb.is_open:
        raise RuleError(f"This call back is already {cb.status}", field="user_id")
    if user is None or not user.active or user.role != "volunteer":
        raise RuleError("Choose an active caseworker to hand the call back to",
                            field="user_id")
    if user.id in (cb.case.owner_id, cb.case.assignee_id):
        raise RuleError(f"{user.name} already works the case {cb.case.reference}: use "
                            "Move call back instead", field="user_id")
    reassign(cb, user, actor, tell=False)
    grant = CaseViewGrant(case_id=cb.case_id, callback_id=cb.id, user_id=user.id,
                          granted_by_id=actor.id)
    db.session.add(grant)
    audit.record(actor, "hand-over", "case", cb.case.reference, reason=f"For call back {cb.id}",
                 changes={"View-only access": (None, user.name)})
    notify([user], f"View-only hand-over: {cb.subject}",
           f"{actor.name} handed you the call back (Start {london_format(cb.start_at)}). You "
           "can see the case and contact, and change only the call back.",
           f"/callbacks/{cb.id}", kind="callback")
    return grant
