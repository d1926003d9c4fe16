"""Case drafts: what a handler typed on the case screen, kept on the server while they type.

A long call's case survives an accidental Back, a closed tab or a browser crash: the screen
posts its fields here every few seconds (htmx), one row per user, caller and case (none for
New Case), with the signpost and referral rows and the Quick Create fields. Opening the
screen again offers the draft back; saving the case deletes it. A draft is its user's only:
nobody else's is ever shown or accepted. Drafts are personal data: erasing the caller (or
the beneficiary chosen on it) deletes them (review.erasure), the retention job deletes them
after KEPT_FOR, and restoring one is audited.

`static/js/session.js` keeps its own copy in the tab's sessionStorage for a session
timeout; this is the server's copy for everything else. Never commits.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, delete, or_, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict

from ..extensions import Model, db
from ..numbers import whole_number
from ..timeutil import utcnow

KEPT_FOR = timedelta(days=7)
MAX_FIELDS = 600
MAX_CHARS = 200_000
# never kept: the form's one-time tokens, its buttons, and the beneficiary search box
_NEVER_KEPT = {"csrf_token", "form_token", "row_action", "submit", "save_close",
               "beneficiary_q"}


class DraftTooLarge(ValueError):
    """More fields or text than any case screen holds."""


class CaseDraft(Model):
    """One user's unsaved case screen for one caller (and one case, when editing)."""

    __tablename__ = "case_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    # user-caller-case (0 for New Case): one draft per screen, even for two racing posts
    slot: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                           index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                                index=True)
    # the beneficiary chosen on the draft (a key for erasure; also inside `fields`)
    beneficiary_id: Mapped[int | None] = mapped_column(Integer, index=True)
    fields: Mapped[str] = mapped_column(Text)  # JSON list of [name, value]
    saved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    def formdata(self) -> MultiDict:
        """The fields as a posted form would hold them."""
        return MultiDict([(str(n), str(v)) for n, v in json.loads(self.fields)])


def slot_of(user_id: int, caller_id: int, case_id: int | None) -> str:
    return f"{user_id}-{caller_id}-{case_id or 0}"


def _kept(form: Mapping) -> list[tuple[str, str]]:
    pairs = [(name, value) for name, values in form.lists() for value in values  # type: ignore[attr-defined]
             if name not in _NEVER_KEPT and isinstance(value, str)]
    if len(pairs) > MAX_FIELDS or sum(len(n) + len(v) for n, v in pairs) > MAX_CHARS:
        raise DraftTooLarge("This draft is too large to keep")
    return pairs


def find(user_id: int, caller_id: int, case_id: int | None) -> CaseDraft | None:
    """The user's own draft of this screen, if any."""
    return db.session.scalar(select(CaseDraft).where(
        CaseDraft.slot == slot_of(user_id, caller_id, case_id)))


def own(draft_id: int, user_id: int) -> CaseDraft | None:
    """A draft by id, only when it is this user's."""
    draft = db.session.get(CaseDraft, draft_id)
    return draft if draft is not None and draft.user_id == user_id else None


def keep(user_id: int, caller_id: int, case_id: int | None, form: Mapping) -> CaseDraft:
    """Keep (or replace) the user's draft of this screen with the posted fields."""
    pairs = _kept(form)
    ben = next((v for n, v in pairs if n == "beneficiary_id"), "")
    draft = find(user_id, caller_id, case_id)
    if draft is None:
        draft = CaseDraft(slot=slot_of(user_id, caller_id, case_id), user_id=user_id,
                          caller_id=caller_id, case_id=case_id)
        db.session.add(draft)
    draft.fields = json.dumps(pairs)
    draft.beneficiary_id = whole_number(ben)  # not a person's id: the draft names no one
    draft.saved_at = utcnow()
    return draft


def discard(user_id: int, caller_id: int, case_id: int | None) -> int:
    """Delete the user's draft of this screen (the case was saved); how many went."""
    result = db.session.execute(delete(CaseDraft).where(
        CaseDraft.slot == slot_of(user_id, caller_id, case_id)))
    return int(getattr(result, "rowcount", 0) or 0)


def ids_for(contact_ids: Iterable[int], case_ids: Iterable[int]) -> set[int]:
    """Drafts belonging to these people (as caller or chosen beneficiary) or these cases."""
    contacts, cases = sorted(set(contact_ids)), sorted(set(case_ids))
    out: set[int] = set()
    for i in range(0, max(len(contacts), len(cases)), 500):
        c, k = contacts[i:i + 500], cases[i:i + 500]
        conds = [CaseDraft.caller_id.in_(c), CaseDraft.beneficiary_id.in_(c)] if c else []
        conds += [CaseDraft.case_id.in_(k)] if k else []
        out |= set(db.session.scalars(select(CaseDraft.id).where(or_(*conds))))
    return out


def delete_ids(ids: set[int]) -> int:
    """Delete drafts by id (erasure)."""
    done = 0
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        result = db.session.execute(delete(CaseDraft).where(
            CaseDraft.id.in_(ordered[i:i + 500])))
        done += int(getattr(result, "rowcount", 0) or 0)
    return done


def purge(now: datetime | None = None) -> int:
    """Delete drafts older than KEPT_FOR (the retention job); how many went."""
    result = db.session.execute(delete(CaseDraft).where(
        CaseDraft.saved_at < (now or utcnow()) - KEPT_FOR))
    return int(getattr(result, "rowcount", 0) or 0)
