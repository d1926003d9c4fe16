"""A call and the interaction opened from its panel: the link, and what hangup sets on it
(Duration and Call State)."""
from __future__ import annotations

from sqlalchemy import select, update

from .. import audit
from ..auth.models import User
from ..extensions import db
from ..interactions import signals as interaction_signals
from ..interactions.models import Interaction
from ..lookups.models import LookupItem
from .models import Call, call_ringing

# hangup causes (Zammad): "cancel" = the caller gave up before anyone answered
ABANDONED_CAUSES = {"cancel"}
# Call State items by meaning, first name found wins (demo and seeds say Completed, Dropped,
# Missed; an administrator may have named the abandoned one "Abandoned")
STATE_NAMES = {"completed": ("Completed",), "abandoned": ("Abandoned", "Dropped", "Missed"),
               "missed": ("Missed",)}


def outcome(call: Call) -> str:
    """completed | abandoned | missed."""
    if call.answered_at is not None:
        return "completed"
    return "abandoned" if (call.cause or "").lower() in ABANDONED_CAUSES else "missed"


def call_state(call: Call) -> LookupItem | None:
    """The Call State lookup item for how the call ended."""
    items = {i.name.lower(): i for i in db.session.scalars(
        select(LookupItem).where(LookupItem.list_name == "call_state"))}
    for name in STATE_NAMES[outcome(call)]:
        if name.lower() in items:
            return items[name.lower()]
    return None


def duration_minutes(call: Call) -> int:
    """Whole minutes, rounded up: a 20-second call is 1 minute, an unanswered one 0."""
    seconds = call.duration_seconds or 0
    return -(-seconds // 60)


def apply_to_interaction(call: Call, actor: User | None = None) -> None:
    """An ended call's Duration and Call State on its interaction, where still empty (or,
    for Call State, still "Active")."""
    interaction = db.session.get(Interaction, call.interaction_id) if call.interaction_id else None
    if interaction is None or call.ended_at is None:
        return
    state = call_state(call)
    changes: dict[str, tuple[object, object]] = {}
    if interaction.duration_mins is None:
        changes["Duration (mins)"] = (None, duration_minutes(call))
        interaction.duration_mins = duration_minutes(call)
    # "Active" is what seed 000's handler sets while the call is on: the end replaces it
    current = db.session.get(LookupItem, interaction.call_state_id) \
        if interaction.call_state_id else None
    if state is not None and (current is None or current.name == "Active"):
        changes["Call State"] = (current.name if current else None, state.name)
        interaction.call_state_id = state.id
    if changes:
        audit.record(actor, "update", "interaction", interaction.reference, changes=changes,
                     reason=f"Phone system: call {call.id} ended")


@interaction_signals.interaction_created.connect
def _link_call(interaction: Interaction, call_ref: str | None = None,
               actor: User | None = None, **_kw) -> None:
    """An interaction saved from a call's panel: link them (and fill in an ended call)."""
    if not call_ref:
        return
    call = db.session.scalar(select(Call).where(Call.call_ref == call_ref))
    if call is None or call.interaction_id is not None or actor is None:
        return
    rang = db.session.scalar(select(call_ringing.c.call_id).where(
        call_ringing.c.call_id == call.id, call_ringing.c.user_id == actor.id))
    if call.answered_by_id != actor.id and rang is None:
        return  # not a call of theirs (a forged or stale hidden field): ignored silently
    won = db.session.execute(update(Call).where(
        Call.id == call.id, Call.interaction_id.is_(None)).values(
        interaction_id=interaction.id).execution_options(synchronize_session=False))
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return
    db.session.refresh(call)
    audit.record(actor, "link", "call", call.id,
                 changes={"Interaction": (None, interaction.reference)})
    apply_to_interaction(call, actor)
