"""Morning Review: everything flagged that nobody has marked reviewed, however long ago.

An item stays until someone marks it reviewed (a complaint flagged on Friday night is
still there on Monday). Each group is counted and paged in the database, oldest first,
through the open review items (flagging.py writes them as things are flagged): the
queries read what is still to review, never every flagged call there ever was.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import String, cast, exists, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..audit import record
from ..auth.models import User
from ..callbacks.models import OPEN, CallBack
from ..cases.models import Case
from ..extensions import db
from ..interactions.models import Interaction, InteractionHandler, interaction_interventions
from ..lookups.models import LookupItem
from ..timeutil import utcnow
from .models import ReviewItem, ReviewMark


@dataclass
class Item:
    """One thing to look at; `at` is when it was flagged (shown as "since …")."""

    key: str
    group: str
    at: datetime
    title: str
    detail: str
    url_endpoint: str
    url_args: dict


def _unmarked(prefix: str, id_column, suffix: str):
    """Nobody marked the item whose key is built in SQL (a probe of the unique key index)."""
    key = literal(prefix) + cast(id_column, String) + literal(suffix)
    return ~exists().where(ReviewMark.item_key == key)


def _complaint_reasons():
    # the flag an administrator sets on the reason (as Interaction.is_complaint)
    return select(LookupItem.id).where(LookupItem.counts_as_complaint.is_(True))


def _open(slug: str, record_id) -> list:
    """Its review item is still open: the queue holds only what nobody reviewed yet."""
    return [ReviewItem.grp == slug, ReviewItem.reviewed_at.is_(None),
            ReviewItem.record_id == record_id]


@dataclass(frozen=True)
class Group:
    """A Morning Review group: its open items joined to what they flag (checked again)."""

    slug: str  # the key's suffix, and the page's query argument
    label: str
    where: Callable[[User], list]  # conditions on `table` (and the review item)
    table: Any
    at: Any  # when flagged: the order (oldest first) and "since"
    queued: bool = True  # read through review_items (else straight from `table`)

    def select_from(self, *columns):
        stmt = select(*columns).select_from(self.table)
        if self.queued:
            stmt = stmt.join(ReviewItem, ReviewItem.record_id == (
                self.table.interaction_id if self.table is InteractionHandler
                else self.table.id))
        return stmt

    def count(self, user: User):
        """COUNT of the unmarked items, as a scalar subquery."""
        return self.select_from(func.count()).where(*self.where(user)).scalar_subquery()


def _assigned(user: User) -> list:
    # assigned by someone else (your own name on your own call is no alert)
    return [*_open("assigned", InteractionHandler.interaction_id),
            ReviewItem.user_id == user.id, InteractionHandler.user_id == user.id]


def _interactions(slug: str, flagged) -> Callable[[User], list]:
    return lambda user: [*_open(slug, Interaction.id), flagged()]


GROUPS = [
    Group("assigned", "Assigned to you", _assigned, InteractionHandler,
          InteractionHandler.assigned_at),
    Group("complaints", "Complaints", _interactions("complaints", lambda: (
        Interaction.out_of_remit_reason_id.in_(_complaint_reasons())
        & Interaction.out_of_remit.is_(True))), Interaction, Interaction.created_at),
    Group("emergency", "Emergency interventions", _interactions("emergency", lambda: (
        Interaction.id.in_(select(interaction_interventions.c.interaction_id)))),
        Interaction, Interaction.created_at),
    Group("call", "Call backs required", _interactions("call", lambda: (
        Interaction.call_back_required.is_(True))), Interaction, Interaction.created_at),
    # open call backs are few, whatever the history: read them straight
    Group("overdue", "Overdue call backs", lambda user: [
        CallBack.escalated_at.is_not(None), CallBack.status.in_(OPEN),
        _unmarked("callback:", CallBack.id, ":overdue")], CallBack, CallBack.escalated_at,
        queued=False),
    Group("safeguarding", "Safeguarding activated", lambda user: [
        *_open("safeguarding", Case.id), Case.safeguarding_activated.is_(True)],
        Case, Case.updated_at),
]
BY_SLUG = {g.slug: g for g in GROUPS}


def counts(user: User) -> dict[str, int]:
    """Unmarked items per group, in one round trip."""
    row = db.session.execute(select(*[g.count(user).label(g.slug) for g in GROUPS])).one()
    return {g.slug: int(getattr(row, g.slug) or 0) for g in GROUPS}


def count(user: User) -> int:
    """How many items the page lists in all (the navigation badge): one query of COUNTs."""
    parts = [g.count(user) for g in GROUPS]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return db.session.scalar(select(total)) or 0


def page(user: User, slug: str, offset: int = 0, limit: int = 50) -> list[Item]:
    """One page of a group's unmarked items, oldest first."""
    group = BY_SLUG[slug]
    id_col = group.table.id
    rows = db.session.scalars(group.select_from(group.table).where(*group.where(user))
                              .order_by(group.at, id_col).offset(offset).limit(limit)
                              .options(*_loads(group)))
    return [_item(group, row) for row in rows]


def _loads(group: Group) -> list:
    if group.table is Interaction:
        return [selectinload(Interaction.interventions)]
    if group.table is InteractionHandler:
        return [selectinload(InteractionHandler.interaction)]
    return []


def _item(group: Group, row: Any) -> Item:
    if isinstance(row, InteractionHandler):
        i = row.interaction
        return Item(f"interaction:{i.id}:assigned", group.label, row.assigned_at,
                    i.reference, (i.notes or "")[:140], "interactions.show",
                    {"interaction_id": i.id})
    if isinstance(row, Interaction):
        detail = ", ".join(x.name for x in row.interventions) if group.slug == "emergency" \
            else (row.notes or "")[:140]
        return Item(f"interaction:{row.id}:{group.slug}", group.label, row.created_at,
                    row.reference, detail, "interactions.show", {"interaction_id": row.id})
    if isinstance(row, CallBack):
        who = row.owner.name if row.owner else (row.team.name if row.team else "")
        return Item(f"callback:{row.id}:overdue", group.label, row.escalated_at or row.end_at,
                    f"{row.subject} call back", f"{who}: {row.description[:120]}",
                    "callbacks.show", {"cb_id": row.id})
    return Item(f"case:{row.id}:safeguarding", group.label, row.updated_at,
                f"{row.reference} {row.title}", row.safeguarding_reason or "",
                "cases.show", {"case_id": row.id})


def items(user: User, per_group: int = 50) -> list[Item]:
    """The first page of every group (oldest first within each)."""
    return [item for g in GROUPS for item in page(user, g.slug, 0, per_group)]


# the record each group's keys name (as `_item` builds them)
_PREFIX = {"assigned": "interaction", "complaints": "interaction", "emergency": "interaction",
           "call": "interaction", "overdue": "callback", "safeguarding": "case"}
_KEY = re.compile(r"([a-z]+):([1-9][0-9]{0,17}):([a-z]+)")


def is_open(user: User, key: str) -> bool:
    """The item is on `user`'s review now: a flagged item nobody marked yet, in a group
    they see (a key for anything else, a record not flagged or not there yet, is not)."""
    match = _KEY.fullmatch(key)
    if not match or _PREFIX.get(match[3]) != match[1]:
        return False
    group, record_id = BY_SLUG[match[3]], int(match[2])
    record = group.table.interaction_id if group.table is InteractionHandler \
        else group.table.id
    return bool(db.session.scalar(group.select_from(func.count())
                                  .where(*group.where(user), record == record_id)))


def mark_reviewed(key: str, actor: User) -> bool:
    """Hide an open item for everyone, recording who and when; False (nothing recorded)
    unless it is on the actor's review now. A flag saved later opens it again."""
    if not is_open(actor, key):
        return False
    # close the open item first: of two reviewers marking at once, the second waits for
    # the first and closes nothing
    result = db.session.execute(update(ReviewItem).where(
        ReviewItem.item_key == key, ReviewItem.reviewed_at.is_(None))
        .values(reviewed_at=utcnow()))
    if BY_SLUG[key.rsplit(":", 1)[1]].queued and not getattr(result, "rowcount", 0):
        return False
    mark = db.session.scalar(select(ReviewMark).where(ReviewMark.item_key == key))
    if mark is None:
        try:
            with db.session.begin_nested():
                db.session.add(ReviewMark(item_key=key, reviewed_by_id=actor.id))
        except IntegrityError:  # an overdue call back marked by someone else just now
            return False
    else:  # reviewed before and flagged again since: the latest review
        mark.reviewed_by_id, mark.reviewed_at = actor.id, utcnow()
    record(actor, "mark-reviewed", "morning-review", key)
    return True
