"""Morning Review hears of every flag as it is saved: an interaction flagged (a complaint,
an emergency intervention, a call back required), a handler assigned by someone else, a
case with safeguarding activated. The lower domains know nothing of the review (they may
not import it): this listens to the session's flushes and writes a `ReviewItem` per newly
flagged item, unless an open one is there already. Marking reviewed closes the open item;
a flag saved after that (a new intervention, safeguarding switched off and on again, a
complaint flagged again) opens a new one, so it comes back to the review.

Rows written by plain SQL statements are not seen here; migration f15a0000c001 queued
what was flagged before it. Overdue call backs are read from the open call backs instead
(their escalation is a plain UPDATE, and open ones are few)."""
from __future__ import annotations

from typing import Any, Iterator

from sqlalchemy import and_, event, exists, insert, inspect, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from ..cases.models import Case
from ..interactions.models import Interaction, InteractionHandler
from .models import ReviewItem

Candidate = tuple[str, str, int, int | None]  # key, group, record id, user id


def _loaded(obj: Any, name: str) -> Any:
    """An attribute's value if it is loaded (a flush must not load anything)."""
    value = inspect(obj).attrs[name].loaded_value
    return None if value is NO_VALUE else value


def _changed(obj: Any, *names: str) -> bool:
    """One of these attributes changed in this flush (a merge that moves a thousand calls
    to another Enquirer flags nothing)."""
    state = inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names)


def _interaction(i: Interaction, new: bool) -> Iterator[Candidate]:
    # a reason counts as a complaint by the administrator's flag, checked when shown
    if i.out_of_remit and i.out_of_remit_reason_id and (
            new or _changed(i, "out_of_remit", "out_of_remit_reason_id")):
        yield f"interaction:{i.id}:complaints", "complaints", i.id, None
    if _loaded(i, "interventions") and (new or _changed(i, "interventions")):
        yield f"interaction:{i.id}:emergency", "emergency", i.id, None
    if i.call_back_required and (new or _changed(i, "call_back_required")):
        yield f"interaction:{i.id}:call", "call", i.id, None


def _candidates(objects, new: bool) -> Iterator[Candidate]:
    for obj in objects:
        if isinstance(obj, Interaction):
            yield from _interaction(obj, new)
        elif isinstance(obj, InteractionHandler) and new and \
                obj.assigned_by_id != obj.user_id:
            yield (f"interaction:{obj.interaction_id}:assigned", "assigned",
                   obj.interaction_id, obj.user_id)
        elif isinstance(obj, Case) and obj.safeguarding_activated and (
                new or _changed(obj, "safeguarding_activated")):
            yield f"case:{obj.id}:safeguarding", "safeguarding", obj.id, None


def queue(session: Session, found: list[Candidate]) -> None:
    """Open a review item for each flag with none open: one guarded INSERT each (the same
    flag saved twice queues once; a flag saved after the item was marked queues again)."""
    conn = session.connection()
    for key, group, record_id, user_id in dict.fromkeys(found):
        same_user = ReviewItem.user_id.is_(None) if user_id is None else \
            ReviewItem.user_id == user_id
        new = select(literal(key), literal(group), literal(record_id), literal(user_id)).where(
            ~exists().where(and_(ReviewItem.item_key == key, same_user,
                                 ReviewItem.reviewed_at.is_(None))))
        conn.execute(insert(ReviewItem).from_select(
            ["item_key", "grp", "record_id", "user_id"], new))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    found = [*_candidates(session.new, True), *_candidates(session.dirty, False)]
    if found:
        queue(session, found)
