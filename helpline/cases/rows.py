"""Signpost and referral rows: parsed from repeated inputs, validated against the admin lists.

Inputs are named like `signposts-3-category` and `referrals-1-x-7` (extra field 7), so rows
can be added and removed in the browser (htmx) or by plain form posts without JavaScript.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from ..extensions import db
from ..lookups.cache import Field, fields_of, offered_items
from ..lookups.models import LookupItem
from ..numbers import whole_number
from .models import AWAITING_REVIEW

_KEY = re.compile(r"^(signposts|referrals)-(\d{1,12})-(.+)$", re.ASCII)  # _new_index: 11 digits


@dataclass
class SignpostRow:
    """One signpost row as typed."""

    index: int
    id: int | None = None
    category_id: int | None = None
    error: str | None = None


@dataclass
class ReferralRow:
    """One referral row as typed, with its extra field values by field id. Its status is
    the saved referral's (never typed): a row sent to a local team is shown, not edited."""

    index: int
    id: int | None = None
    response_type_id: int | None = None
    status: str = AWAITING_REVIEW
    declined_reason: str = ""
    extra: dict[int, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    label: str = AWAITING_REVIEW  # "Sent to North West team on 07/12/2026"
    locked: bool = False

    def extra_fields(self) -> tuple[Field, ...]:
        return fields_of(self.response_type_id) if self.response_type_id else ()


def _int(value: str | None) -> int | None:
    return whole_number(value)


def _group(form: Mapping[str, str], prefix: str) -> dict[int, dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key in form.keys():
        m = _KEY.match(key)
        if m and m.group(1) == prefix:
            rows.setdefault(int(m.group(2)), {})[m.group(3)] = form.get(key, "")
    return dict(sorted(rows.items()))


def parse_signposts(form: Mapping[str, str]) -> list[SignpostRow]:
    """Signpost rows from the posted form, in order."""
    return [SignpostRow(i, _int(v.get("id")), _int(v.get("category")))
            for i, v in _group(form, "signposts").items()]


def parse_referrals(form: Mapping[str, str]) -> list[ReferralRow]:
    """Referral rows from the posted form, in order (a posted status is ignored)."""
    out = []
    for i, v in _group(form, "referrals").items():
        extra = {n: val for k, val in v.items()
                 if k.startswith("x-") and (n := whole_number(k[2:])) is not None}
        out.append(ReferralRow(i, _int(v.get("id")), _int(v.get("type")), extra=extra))
    return out


def _from_saved(row: ReferralRow, r) -> ReferralRow:
    row.status, row.declined_reason = r.status, r.declined_reason or ""
    row.label, row.locked = r.status_label, r.locked
    if r.locked:  # what went to the local team stays as it was sent
        row.response_type_id = r.response_type_id
        row.extra = {n: v for k, v in (r.extra or {}).items() if (n := whole_number(k)) is not None}
    return row


def with_saved_status(rows: list[ReferralRow], case) -> list[ReferralRow]:
    """Posted rows with their saved referral's status (rows of this case only)."""
    saved = {r.id: r for r in case.referrals} if case is not None else {}
    return [_from_saved(row, saved[row.id]) if row.id in saved else row for row in rows]


def validate_signposts(rows: list[SignpostRow]) -> bool:
    """Each row needs a category from the list offered (or the one it already had)."""
    allowed = {i.id for i in offered_items("signpost_category")}
    ok = True
    for row in rows:
        if row.category_id is None:
            row.error, ok = "Choose the Signpost category, or remove the row", False
        elif row.category_id not in allowed and row.id is None:
            row.error, ok = "Choose a Signpost category from the list", False
    return ok


def _check_extra(f: Field, value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return f"Enter {f.name}" if f.required else None
    if f.kind == "number" and not re.fullmatch(r"\d{1,6}", value, re.ASCII):
        return f"{f.name} must be a whole number, like 3"
    if f.kind == "date":
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            return f"{f.name} must be a real date"
    if f.kind == "choice" and value not in f.choice_list:
        return f"Choose {f.name}: {' or '.join(f.choice_list)}"
    if f.kind == "yes-no" and value not in ("Yes", "No"):
        return f"Choose Yes or No for {f.name}"
    return None


def validate_referrals(rows: list[ReferralRow]) -> bool:
    """Type from the list and the type's extra fields (only those an admin marked required
    must be filled); a row already sent is not checked again."""
    allowed = {i.id for i in offered_items("local_response_type")}
    ok = True
    for row in rows:
        if row.locked:
            continue
        if row.response_type_id is None or (row.response_type_id not in allowed
                                            and row.id is None):
            row.errors["type"] = "Choose the Local Response Type, or remove the row"
        for f in row.extra_fields():
            problem = _check_extra(f, row.extra.get(f.id, ""))
            if problem:
                row.errors[f"x-{f.id}"] = problem
        ok = ok and not row.errors
    return ok


def signpost_rows_of(case) -> list[SignpostRow]:
    """The saved signposts as rows."""
    return [SignpostRow(i, s.id, s.category_id) for i, s in enumerate(case.signposts)]


def referral_rows_of(case) -> list[ReferralRow]:
    """The saved referrals as rows."""
    rows = []
    for i, r in enumerate(case.referrals):
        extra = {n: v for k, v in (r.extra or {}).items() if (n := whole_number(k)) is not None}
        rows.append(_from_saved(ReferralRow(i, r.id, r.response_type_id, extra=extra), r))
    return rows


def lookup_name(item_id: int | None) -> str:
    """Name of a lookup item, for audit text."""
    item = db.session.get(LookupItem, item_id) if item_id else None
    return item.name if item else ""


def apply_row_action(action: str, signposts: list[SignpostRow],
                     referrals: list[ReferralRow]) -> bool:
    """No-JavaScript row buttons: add or remove a row (the form is shown again, not saved).
    Returns whether `action` was one of them (or the beneficiary search, also a re-show)."""
    if action == "add-signpost":
        signposts.append(SignpostRow(max([r.index for r in signposts], default=-1) + 1))
    elif action == "add-referral":
        referrals.append(ReferralRow(max([r.index for r in referrals], default=-1) + 1))
    elif action.startswith("remove-signpost-"):
        signposts[:] = [r for r in signposts if str(r.index) != action.rsplit("-", 1)[1]]
    elif action.startswith("remove-referral-"):  # a row already sent is kept
        referrals[:] = [r for r in referrals
                        if str(r.index) != action.rsplit("-", 1)[1] or r.locked]
    elif action != "find-beneficiary":
        return False
    return True
