"""Morning Review: what was flagged since the start of the previous shift."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.orm import selectinload

from ..audit import record
from ..auth.models import User
from ..callbacks.models import OPEN, CallBack
from ..cases.models import Case
from ..extensions import db
from ..interactions.models import Interaction, InteractionHandler, interaction_interventions
from ..lookups.models import LookupItem
from ..timeutil import LONDON, to_london, utcnow
from .models import ReviewMark


@dataclass
class Item:
    """One thing to look at."""

    key: str
    group: str
    at: datetime
    title: str
    detail: str
    url_endpoint: str
    url_args: dict


def window_start(shift_starts: list[str], now: datetime | None = None) -> datetime:
    """UTC start of the previous shift, given shift start times like ["08:00", "20:00"]."""
    local = to_london(now or utcnow())
    starts = sorted(time.fromisoformat(s.strip()) for s in shift_starts)
    candidates = []
    for day in (local.date() - timedelta(days=2), local.date() - timedelta(days=1), local.date()):
        candidates += [datetime.combine(day, t, LONDON) for t in starts]
    past = [c for c in candidates if c <= local]
    previous = past[-2] if len(past) >= 2 else past[0]
    return previous.astimezone(timezone.utc).replace(tzinfo=None)


def items(user: User, since: datetime) -> list[Item]:
    """Everything since `since` that needs a look and nobody has marked reviewed."""
    marked = set(db.session.scalars(select(ReviewMark.item_key)))
    found = [*_interaction_items(user, since), *_case_items(since), *_callback_items(since)]
    return [item for item in found if item.key not in marked]


def _groups(i: Interaction, mine: set[int]) -> list[str]:
    """The Morning Review groups an interaction belongs to."""
    flags = ((i.id in mine, "Assigned to you"), (i.is_complaint, "Complaints"),
             (bool(i.interventions), "Emergency interventions"),
             (i.call_back_required, "Call backs required"))
    return [group for flagged, group in flags if flagged]


def _interaction_items(user: User, since: datetime) -> list[Item]:
    mine_q = select(InteractionHandler.interaction_id).where(
        InteractionHandler.user_id == user.id, InteractionHandler.assigned_at >= since)
    mine = set(db.session.scalars(mine_q))
    # Only the interactions that are flagged, found by the database (a busy night can hold
    # thousands of ordinary calls), with what the list shows loaded in the same round trips.
    recent = db.session.scalars(
        select(Interaction).where(Interaction.created_at >= since, or_(
            Interaction.id.in_(mine_q), Interaction.call_back_required.is_(True),
            Interaction.out_of_remit.is_(True),
            Interaction.id.in_(select(interaction_interventions.c.interaction_id))))
        .options(selectinload(Interaction.interventions),
                 selectinload(Interaction.out_of_remit_reason))
        .order_by(Interaction.created_at.desc()))
    out = []
    for i in recent:
        for group in _groups(i, mine):
            detail = ", ".join(x.name for x in i.interventions) if group.startswith(
                "Emergency") else (i.notes or "")[:140]
            out.append(Item(f"interaction:{i.id}:{group.split()[0].lower()}", group,
                            i.created_at, i.reference, detail, "interactions.show",
                            {"interaction_id": i.id}))
    return out


def _case_items(since: datetime) -> list[Item]:
    return [Item(f"case:{case.id}:safeguarding", "Safeguarding activated", case.updated_at,
                 f"{case.reference} {case.title}", case.safeguarding_reason or "",
                 "cases.show", {"case_id": case.id})
            for case in db.session.scalars(select(Case).where(
                Case.safeguarding_activated.is_(True), Case.updated_at >= since)
                .order_by(Case.updated_at.desc()))]


def _callback_items(since: datetime) -> list[Item]:
    out = []
    for cb in db.session.scalars(select(CallBack).where(
            CallBack.escalated_at >= since, CallBack.status.in_(OPEN))
            .order_by(CallBack.end_at.desc())):
        who = cb.owner.name if cb.owner else (cb.team.name if cb.team else "")
        out.append(Item(f"callback:{cb.id}:overdue", "Overdue call backs", cb.end_at,
                        f"{cb.subject} call back", f"{who}: {cb.description[:120]}",
                        "callbacks.show", {"cb_id": cb.id}))
    return out


def _unmarked(prefix: str, id_column, suffix: str):
    """The item key built in SQL (as items() builds it) is not among the marked ones."""
    key = literal(prefix) + cast(id_column, String) + literal(suffix)
    return key.not_in(select(ReviewMark.item_key))


def count(user: User, since: datetime) -> int:
    """How many items() would list, in one round trip of COUNTs (the navigation badge)."""
    mine_q = select(InteractionHandler.interaction_id).where(
        InteractionHandler.user_id == user.id, InteractionHandler.assigned_at >= since)
    complaint_reasons = select(LookupItem.id).where(
        func.lower(LookupItem.name).like("complaint%"))  # as Interaction.is_complaint

    def interactions(suffix: str, *where):
        return select(func.count(Interaction.id)).where(
            Interaction.created_at >= since, _unmarked("interaction:", Interaction.id, suffix),
            *where).scalar_subquery()

    parts = [
        interactions(":assigned", Interaction.id.in_(mine_q)),
        interactions(":complaints", Interaction.out_of_remit.is_(True),
                     Interaction.out_of_remit_reason_id.in_(complaint_reasons)),
        interactions(":emergency", Interaction.id.in_(
            select(interaction_interventions.c.interaction_id))),
        interactions(":call", Interaction.call_back_required.is_(True)),
        select(func.count(Case.id)).where(
            Case.safeguarding_activated.is_(True), Case.updated_at >= since,
            _unmarked("case:", Case.id, ":safeguarding")).scalar_subquery(),
        select(func.count(CallBack.id)).where(
            CallBack.escalated_at >= since, CallBack.status.in_(OPEN),
            _unmarked("callback:", CallBack.id, ":overdue")).scalar_subquery(),
    ]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return db.session.scalar(select(total)) or 0


def mark_reviewed(key: str, actor: User) -> bool:
    """Hide an item for everyone, recording who and when."""
    if db.session.scalar(select(ReviewMark.id).where(ReviewMark.item_key == key)):
        return False
    db.session.add(ReviewMark(item_key=key, reviewed_by_id=actor.id))
    record(actor, "mark-reviewed", "morning-review", key)
    return True
