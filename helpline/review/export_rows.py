"""What an export holds: the filters, the query, the rows (formula-safe) and the writers."""
from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import func, select

from ..cases.models import REFERENCE_OFFSET, Case, CaseNote, Referral, Signpost
from ..contacts.models import Contact
from ..extensions import db
from ..interactions.models import Interaction
from ..lookups.models import LookupItem
from ..rules import RuleError
from ..timeutil import london_format

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = ["Case reference", "Created", "Updated", "Reviewed at", "Reviewed by", "Region",
           "Postcode area", "Who Requires Urgent Practical Support",
           "Psychosocial Support Given", "Safeguarding Activated", "Local Signposts",
           "Local Referrals", "Feedback Consent", "Interactions"]
PERSONAL = ["Caller name", "Caller phone", "Safeguarding Reason", "Summary Notes"]
YES_NO = {True: "Yes", False: "No"}


def neutralise(value: Any) -> Any:
    """Stop spreadsheet formula injection: text starting with = + - @ is prefixed with '."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def clean_filters(filters: dict) -> dict:
    """The filters, checked before anything is counted: real dates, a team id."""
    try:
        for key in ("since", "until"):
            if filters.get(key):
                day = datetime.fromisoformat(filters[key])
                if not 1900 <= day.year <= 9000:
                    raise ValueError(key)
        team = filters.get("team_id")
        if team and not (str(team).isascii() and str(team).isdigit() and int(team) < 2**31):
            raise ValueError("team_id")
    except (TypeError, ValueError, OverflowError) as exc:
        raise RuleError("Enter dates as dates and choose a team from the list",
                          field="since") from exc
    return filters


def export_query(filters: dict):
    """Reviewed cases matching the export filters, in a stable order."""
    stmt = select(Case).join(Contact, Case.caller_id == Contact.id).where(
        Case.reviewed_at.is_not(None))
    if filters.get("region"):
        stmt = stmt.where(Contact.region == filters["region"])
    if filters.get("team_id"):
        stmt = stmt.where(Case.team_id == int(filters["team_id"]))
    if filters.get("since"):
        stmt = stmt.where(Case.reviewed_at >= datetime.fromisoformat(filters["since"]))
    if filters.get("until"):
        stmt = stmt.where(Case.reviewed_at < datetime.fromisoformat(filters["until"])
                          + timedelta(days=1))
    if filters.get("not_exported"):
        stmt = stmt.where(Case.export_batch_id.is_(None))
    return stmt.order_by(Case.id)


def case_ids(filters: dict) -> list[int]:
    """The ids of the cases an export with these filters holds."""
    return list(db.session.scalars(export_query(filters).with_only_columns(Case.id)))


def _fmt(value) -> str:
    return london_format(value) if value else ""


def _chunk_details(chunk: list[int], personal: bool) -> dict[str, dict]:
    """Signposts, referrals, interaction counts (and notes) for a chunk, in a few queries."""
    out: dict[str, dict] = {"signposts": {}, "referrals": {}, "notes": {}}
    for case_id, name in db.session.execute(
            select(Signpost.case_id, LookupItem.name).join(LookupItem, Signpost.category_id
                                                           == LookupItem.id)
            .where(Signpost.case_id.in_(chunk)).order_by(Signpost.id)):
        out["signposts"].setdefault(case_id, []).append(name)
    for case_id, name, status in db.session.execute(
            select(Referral.case_id, LookupItem.name, Referral.status)
            .join(LookupItem, Referral.response_type_id == LookupItem.id)
            .where(Referral.case_id.in_(chunk)).order_by(Referral.id)):
        out["referrals"].setdefault(case_id, []).append(f"{name} ({status})")
    out["interactions"] = dict(db.session.execute(
        select(Interaction.case_id, func.count(Interaction.id))
        .where(Interaction.case_id.in_(chunk)).group_by(Interaction.case_id)).all())
    if personal:
        for case_id, at, text in db.session.execute(
                select(CaseNote.case_id, CaseNote.at, CaseNote.text)
                .where(CaseNote.case_id.in_(chunk)).order_by(CaseNote.id)):
            out["notes"].setdefault(case_id, []).append(f"{_fmt(at)}: {text}")
    return out


def _row(r, more: dict, personal: bool) -> list:
    row = [f"CA{r[0] + REFERENCE_OFFSET}", _fmt(r[1]), _fmt(r[2]), _fmt(r[3]), r[4] or "",
           r[5], r[6], r[7], YES_NO[bool(r[8])], YES_NO[bool(r[9])],
           "; ".join(more["signposts"].get(r[0], [])),
           "; ".join(more["referrals"].get(r[0], [])), YES_NO.get(r[10], ""),
           more["interactions"].get(r[0], 0)]
    if personal:
        named = r[14] == "Consent given"
        row += [" ".join(p for p in (r[11], r[12]) if p) if named else "",
                r[13] or "", r[15] or "", "\n".join(more["notes"].get(r[0], []))]
    return [neutralise(v) for v in row]


TRAINING_MARK = "TRAINING — practice data only, not real callers"


def _write_csv(path: Path, header: list, rows: Iterator[list], training: bool = False) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        if training:  # the training site's exports say so on their first line
            writer.writerow([TRAINING_MARK])
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


def _write_xlsx(path: Path, header: list, rows: Iterator[list], training: bool = False) -> None:
    from openpyxl import Workbook
    wb = Workbook(write_only=True)  # streams rows to disk
    ws = wb.create_sheet("TRAINING Cases" if training else "Cases")
    if training:  # a title row as well as the sheet name
        ws.append([TRAINING_MARK])
    ws.append(header)
    for row in rows:
        ws.append(row)
    with path.open("wb") as fh:
        wb.save(fh)
        fh.flush()
        os.fsync(fh.fileno())
