"""What an export holds: the filters, the query, the rows (formula-safe) and the writers."""
from __future__ import annotations

import csv
import os
import re
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import func, select
from xlsxwriter import Workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from ..cases.models import REFERENCE_OFFSET, Case, CaseNote, Referral, Signpost
from ..contacts.models import Contact
from ..extensions import db
from ..interactions.models import Interaction
from ..lookups.models import LookupItem
from ..rules import RuleError
from ..timeutil import london_format, to_london

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
    return list(db.session.connection().scalars(
        export_query(filters).with_only_columns(Case.id)).all())


def among(column, ids: list[int], slack: int = 1):
    """`column` is one of `ids` (distinct) as SQL: a BETWEEN where the ids are no more than
    `slack` times as spread out as a run of consecutive ids (slack 1: exactly such a run; more:
    the caller drops what else the range holds), else an IN list."""
    low, high = min(ids), max(ids)
    if high - low < slack * len(ids):
        return column.between(low, high)
    return column.in_(ids)


_MINUTES = [f"{m:02d}" for m in range(60)]


def london_minutes() -> Callable[[datetime | None], str]:
    """london_format for many stored times: the local "dd/mm/yyyy HH:" of each UTC hour is
    worked out once (London differs from UTC by whole hours, so the minutes carry over)."""
    hours: dict[tuple, str] = {}

    def fmt(value: datetime | None) -> str:
        if value is None:
            return ""
        if value.tzinfo is not None:
            return london_format(value)
        key = (value.year, value.month, value.day, value.hour)
        prefix = hours.get(key)
        if prefix is None:
            local = to_london(datetime(*key))
            whole = local.minute == local.second == local.microsecond == 0
            prefix = hours[key] = local.strftime("%d/%m/%Y %H:") if whole else ""
        return prefix + _MINUTES[value.minute] if prefix else london_format(value)
    return fmt


def _chunk_details(chunk: list[int], personal: bool) -> dict[str, dict]:
    """Signposts and referrals (joined, formula-safe), interaction counts (and notes) for a
    chunk of case ids, in a few queries, each in case order and grouped as it is read; keyed
    by case id (a case outside the chunk may appear too)."""
    conn, fmt, n = db.session.connection(), london_minutes(), neutralise
    out: dict[str, dict] = {"signposts": {
        case_id: n("; ".join(map(itemgetter(1), rows))) for case_id, rows in groupby(
            conn.execute(select(Signpost.case_id, LookupItem.name)
                         .join(LookupItem, Signpost.category_id == LookupItem.id)
                         .where(among(Signpost.case_id, chunk, 4))
                         .order_by(Signpost.case_id, Signpost.id)).all(), itemgetter(0))}}
    out["referrals"] = {
        case_id: n("; ".join(map(itemgetter(1), rows))) for case_id, rows in groupby(
            conn.execute(select(Referral.case_id, LookupItem.name + " (" + Referral.status + ")")
                         .join(LookupItem, Referral.response_type_id == LookupItem.id)
                         .where(among(Referral.case_id, chunk, 4))
                         .order_by(Referral.case_id, Referral.id)).all(), itemgetter(0))}
    out["notes"] = {} if not personal else {
        case_id: "\n".join([f"{fmt(at)}: {text}" for _, at, text in rows])
        for case_id, rows in groupby(
            conn.execute(select(CaseNote.case_id, CaseNote.at, CaseNote.text)
                         .where(among(CaseNote.case_id, chunk, 4))
                         .order_by(CaseNote.case_id, CaseNote.id)).all(), itemgetter(0))}
    out["interactions"] = dict(conn.execute(
        select(Interaction.case_id, func.count(Interaction.id))
        .where(among(Interaction.case_id, chunk, 4)).group_by(Interaction.case_id)).all())
    return out


def _row(r, more: dict, personal: bool, fmt: Callable[[datetime | None], str]) -> list:
    """One case's cells. Only text that comes from people or lists can start a formula: the
    reference, times, Yes/No and the count cannot, so they are not checked."""
    n, case_id = neutralise, r[0]
    row = [f"CA{case_id + REFERENCE_OFFSET}", fmt(r[1]), fmt(r[2]), fmt(r[3]), n(r[4] or ""),
           n(r[5]), n(r[6]), n(r[7]), YES_NO[bool(r[8])], YES_NO[bool(r[9])],
           more["signposts"].get(case_id, ""), more["referrals"].get(case_id, ""),
           YES_NO.get(r[10], ""), more["interactions"].get(case_id, 0)]
    if personal:
        named = r[14] == "Consent given"
        row += [n(" ".join(p for p in (r[11], r[12]) if p)) if named else "",
                n(r[13] or ""), n(r[15] or ""), n(more["notes"].get(case_id, ""))]
    return row


TRAINING_MARK = "TRAINING — practice data only, not real callers"


def _write_csv(path: Path, header: list, rows: Iterator[list], training: bool = False) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        if training:  # the training site's exports say so on their first line
            writer.writerow([TRAINING_MARK])
        writer.writerow(header)
        writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())


# characters XML 1.0 cannot hold: C0 controls but tab/newline/return, the two
# non-characters U+FFFE/U+FFFF, and lone surrogates
_XML_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACE = " \t\n\r"


def _xml_text(text: str) -> str:
    """Text for a cell's XML: & < > escaped; a control character XML cannot hold as Excel
    writes it (_x000B_), where openpyxl refused the whole export."""
    if _XML_SPECIAL.search(text) is None:
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


class RowSheet(Worksheet):
    """An XlsxWriter worksheet in constant-memory mode that also takes whole rows of text and
    numbers without formats: `append` writes a row's XML in one piece to XlsxWriter's row
    file (text as inline strings, as openpyxl's write-only mode stored it), where a cell at a
    time through write_string() cost 8 s of CPU for 100,000 rows of 14 cells."""

    def __init__(self) -> None:
        super().__init__()
        self.appended = 0
        self.letters: list[str] = []

    def append(self, values: list) -> None:
        """The next row: text (an empty text is an empty cell), numbers, or None."""
        row, letters = self.appended, self.letters
        self.appended += 1
        if len(letters) < len(values):
            letters += [xl_col_to_name(c) for c in range(len(letters), len(values))]
        r = str(row + 1)
        cells = [f'<row r="{r}">']
        used = []
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            used.append(col)
            if isinstance(value, str):
                space = ' xml:space="preserve"' if (value[0] in _SPACE
                                                    or value[-1] in _SPACE) else ""
                cells.append(f'<c r="{letters[col]}{r}" t="inlineStr"><is><t{space}>'
                             f'{_xml_text(value)}</t></is></c>')
            else:
                cells.append(f'<c r="{letters[col]}{r}" t="n"><v>{value:.16G}</v></c>')
        if not used:
            return
        if self._check_dimensions(row, used[0]) or self._check_dimensions(row, used[-1]):
            raise ValueError(f"row {row + 1} does not fit in a worksheet")
        cells.append("</row>")
        self.fh.write("".join(cells))
        self.previous_row = row


def _write_xlsx(path: Path, header: list, rows: Iterator[list], training: bool = False) -> None:
    with path.open("wb") as fh:
        # XlsxWriter in constant-memory mode: the rows stream to a temporary file
        book = Workbook(fh, {"constant_memory": True, "allow_zip64": True})
        sheet = book.add_worksheet("TRAINING Cases" if training else "Cases",
                                   worksheet_class=RowSheet)
        if training:  # a title row as well as the sheet name
            sheet.append([TRAINING_MARK])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.close()
        fh.flush()
        os.fsync(fh.fileno())
