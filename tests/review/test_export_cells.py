"""Every cell of a CSV and an XLSX export is what the data team expects, for a varied generated
set of reviewed cases: Europe/London times either side of the clock changes, formula-looking
text neutralised, names only with consent, signposts, referrals, interactions and notes in
the order they were added, blanks for what is missing. Read back as the team reads them: the
CSV with the csv module, the XLSX with openpyxl."""
import csv
import io
import random
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from helpline.cases.models import REFERRAL_STATUSES, Case, CaseNote, Referral, Signpost
from helpline.cases.services import create_case
from helpline.contacts.models import CONSENT_STATUSES, Contact
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.lookups.models import LookupItem
from helpline.review.models import ExportBatch
from helpline.timeutil import london_format
from tests.conftest import csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user
from tests.review.test_review import world  # noqa: F401  (fixture)

HEADER = ["Case reference", "Created", "Updated", "Reviewed at", "Reviewed by", "Region",
          "Postcode area", "Who Requires Urgent Practical Support", "Psychosocial Support Given",
          "Safeguarding Activated", "Local Signposts", "Local Referrals", "Feedback Consent",
          "Interactions"]
PERSONAL = ["Caller name", "Caller phone", "Safeguarding Reason", "Summary Notes"]

# UTC times around the clock changes of 2026 (29 March 01:00 UTC, 25 October 01:00 UTC) and
# the turn of a day, a month and a year in London
TIMES = [datetime(2026, 3, 29, 0, 59, 59), datetime(2026, 3, 29, 1, 0),
         datetime(2026, 10, 25, 0, 30, 15), datetime(2026, 10, 25, 1, 30),
         datetime(2026, 6, 30, 23, 30, 0, 999999), datetime(2026, 12, 31, 23, 59, 59),
         datetime(2000, 2, 29, 12, 5), datetime(2026, 1, 1, 0, 0)]
TEXTS = ["Plain words", "=HYPERLINK(\"http://evil\")", "+44 7700 900001", "-5", "@SUM(A1)",
         "\tTabbed", "\rCarriage", "O'Brien & <Sons> \"quoted\"", "Zoë 😀 naïve", " leading",
         "trailing ", "two\r\nlines", "_x0041_ literal", "http://example.org/page", "007",
         "1e5", "TRUE", "a;b (c)"]


def safe(value: str) -> str:
    """What a spreadsheet user is given for text that would start a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def made_world(world, rng: random.Random, n: int) -> list[int]:
    """n reviewed cases with varied values; their ids."""
    signposts = [LookupItem(list_name="signpost_category", name=name)
                 for name in ("Food banks & pantries", "=cmd|' /C calc'!A0", "Carers; groups")]
    referral_types = [LookupItem(list_name="local_response_type", name=name)
                      for name in ("Food share", "+Medication", "Transport <local>")]
    db.session.add_all(signposts + referral_types)
    reviewers = [None, world["data"], make_user("data", name="=Eve Reviewer"),
                 make_user("data", name="Zoë O'Neill")]
    ids = []
    for i in range(n):
        caller = make_contact(world["handler"])
        db.session.execute(update(Contact).where(Contact.id == caller.id).values(
            first_name=rng.choice(["Grace", "=Grace", None, "Zoë"]),
            last_name=rng.choice(["Adebayo", "-Smith", None]),
            phone=rng.choice(["07700 900123", "+44 7700 900456", None, "=1+1"]),
            consent_status=rng.choice(CONSENT_STATUSES),
            region=rng.choice(["West Midlands", "-North", "London"]),
            postcode_area=rng.choice(["B", "@E", "SW"])))
        case = create_case(caller, f"Case {i}", world["handler"])
        for _ in range(rng.randrange(4)):
            case.signposts.append(Signpost(category_id=rng.choice(signposts).id))
        for _ in range(rng.randrange(3)):
            case.referrals.append(Referral(response_type_id=rng.choice(referral_types).id,
                                           status=rng.choice(REFERRAL_STATUSES)))
        db.session.flush()
        for _ in range(rng.randrange(4)):
            db.session.add(Interaction(case_id=case.id, enquirer_id=caller.id))
        for _ in range(rng.randrange(3)):
            db.session.add(CaseNote(case_id=case.id, at=rng.choice(TIMES),
                                    text=rng.choice(TEXTS)))
        reviewer = rng.choice(reviewers)
        db.session.flush()
        db.session.execute(update(Case).where(Case.id == case.id).values(
            created_at=rng.choice(TIMES), updated_at=rng.choice(TIMES),
            reviewed_at=rng.choice(TIMES), review_state="Accepted",
            reviewed_by_id=reviewer.id if reviewer else None,
            who_requires_support=rng.choice(["The person who called", "Someone Else", "=X"]),
            psychosocial_support=rng.random() < 0.5, safeguarding_activated=rng.random() < 0.5,
            safeguarding_reason=rng.choice([None, "", *TEXTS]),
            feedback_consent=rng.choice([True, False, None])))
        ids.append(case.id)
    db.session.commit()
    return ids


def expected_rows(ids: list[int], personal: bool) -> list[list]:
    """The rows as the team expects them, worked out from the saved cases one by one."""
    db.session.expire_all()
    rows = []
    yes_no = {True: "Yes", False: "No", None: ""}
    for case in (db.session.get(Case, i) for i in sorted(ids)):
        caller = case.caller
        signposts = db.session.scalars(select(Signpost).where(Signpost.case_id == case.id)
                                       .order_by(Signpost.id))
        referrals = db.session.scalars(select(Referral).where(Referral.case_id == case.id)
                                       .order_by(Referral.id))
        interactions = db.session.scalars(select(Interaction).where(
            Interaction.case_id == case.id)).all()
        row = [case.reference, london_format(case.created_at), london_format(case.updated_at),
               london_format(case.reviewed_at), safe(case.reviewed_by.name if case.reviewed_by
                                                      else ""),
               safe(caller.region), safe(caller.postcode_area), safe(case.who_requires_support),
               yes_no[case.psychosocial_support], yes_no[case.safeguarding_activated],
               safe("; ".join(db.session.get(LookupItem, s.category_id).name
                              for s in signposts)),
               safe("; ".join(f"{db.session.get(LookupItem, r.response_type_id).name} "
                              f"({r.status})" for r in referrals)),
               yes_no[case.feedback_consent], len(interactions)]
        if personal:
            consented = caller.consent_status == "Consent given"
            name = " ".join(p for p in (caller.first_name, caller.last_name) if p)
            notes = db.session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)
                                       .order_by(CaseNote.id))
            row += [safe(name if consented else ""), safe(caller.phone or ""),
                    safe(case.safeguarding_reason or ""),
                    "\n".join(f"{london_format(n.at)}: {n.text}" for n in notes)]
        rows.append(row)
    return rows


def export(app, client, fmt: str, personal: bool) -> bytes:
    data = {"fmt": fmt, "not_exported": "", "csrf_token": csrf_token(client, "/review/export")}
    if personal:
        data["with_personal"] = "1"
    assert client.post("/review/export", data=data).status_code == 302
    run_jobs(app)
    db.session.expire_all()
    batch = db.session.scalars(select(ExportBatch).order_by(ExportBatch.id.desc())).first()
    assert batch.status == "done", batch.error
    resp = client.get(f"/review/export/{batch.id}/download")
    assert resp.status_code == 200
    return resp.get_data()


@pytest.mark.parametrize("personal", [False, True])
def test_csv_and_xlsx_exports_hold_what_the_team_expects_cell_by_cell(app, client, world,
                                                                       personal):
    ids = made_world(world, random.Random(17), 60)
    expected = expected_rows(ids, personal)
    header = HEADER + (PERSONAL if personal else [])
    # the generated set covers what the rows have to get right
    flat = [v for row in expected for v in row]
    assert {"29/03/2026 00:59", "29/03/2026 02:00", "25/10/2026 01:30", "01/07/2026 00:30",
            "31/12/2026 23:59", "'=Eve Reviewer", "'-North", "'@E", "'=X", ""} <= set(flat)
    assert {0, 1, 2, 3} <= set(row[13] for row in expected)
    if personal:
        assert "'=Grace -Smith" in flat and "'+44 7700 900456" in flat
        assert any("\n" in v and "'=HYPERLINK" not in v for v in flat if isinstance(v, str))

    body = export(app, client, "csv", personal).decode("utf-8")
    assert body.startswith("\ufeff")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(body[1:], newline="")))
    assert rows[0] == header
    assert len(rows) == len(expected) + 1
    for got, want in zip(rows[1:], expected):
        assert got == [str(v) for v in want]

    book = load_workbook(io.BytesIO(export(app, client, "xlsx", personal)), read_only=True)
    assert book.sheetnames == ["Cases"]
    cells = list(book.active.iter_rows(values_only=True))
    assert list(cells[0]) == header
    assert len(cells) == len(expected) + 1
    for got, want in zip(cells[1:], expected):
        # an empty text is an empty cell; the count is a number; a line break read back from
        # the sheet's XML is a newline
        want = [None if v == "" else v.replace("\r\n", "\n").replace("\r", "\n")
                if isinstance(v, str) else v for v in want]
        assert list(got) + [None] * (len(header) - len(got)) == want


def test_a_control_character_no_longer_stops_an_xlsx_export(app, client, world):
    """openpyxl refused a whole export over one control character (a vertical tab pasted into
    a note); now the cell holds it as Excel itself stores one, and the CSV keeps it as is."""
    ids = made_world(world, random.Random(3), 1)
    db.session.execute(update(Case).where(Case.id == ids[0]).values(
        safeguarding_reason="Pasted\x0btext & <more>"))
    db.session.commit()
    rows = list(csv.reader(io.StringIO(export(app, client, "csv", True).decode("utf-8-sig"))))
    assert rows[1][16] == "Pasted\x0btext & <more>"
    book = load_workbook(io.BytesIO(export(app, client, "xlsx", True)), read_only=True)
    assert list(book.active.iter_rows(values_only=True))[1][16] == "Pasted_x000B_text & <more>"


def test_characters_xml_cannot_hold_leave_the_sheet_well_formed(tmp_path):
    """Break finding: U+FFFF in a note made sheet1.xml not well-formed (Excel refuses or
    "repairs" it); every character XML cannot hold is written as Excel writes it."""
    import zipfile
    from xml.etree import ElementTree

    from helpline.review.export_rows import _write_xlsx
    path = tmp_path / "odd.xlsx"
    odd = ["ok\uffffnote", "a\ufffeb", "lone\ud800half", "tab\tand\x01", "plain & <b>"]
    _write_xlsx(path, ["a", "b", "c", "d", "e"], iter([odd]))
    with zipfile.ZipFile(path) as book:
        ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # parses
    cells = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))[1]
    assert cells == ("ok_xFFFF_note", "a_xFFFE_b", "lone_xD800_half", "tab\tand_x0001_",
                     "plain & <b>")
