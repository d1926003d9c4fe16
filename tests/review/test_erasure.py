"""Erasure by ownership (issue 13): anonymising one person touches exactly their records,
leaves no trace of them anywhere, and the subject access ZIP holds all of their records."""
from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from helpline.audit.models import AuditEntry
from helpline.callbacks.models import CallBack
from helpline.cases.models import Case, CaseNote
from helpline.cases.services import add_note, create_case, mark_ready_for_review
from helpline.contacts.models import Contact
from helpline.contacts.services import update_contact
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.interactions.services import create_interaction
from helpline.knowledge.models import Article, Organisation
from helpline.mailer import OutboxMail
from helpline.notifications.models import Notification
from helpline.callback_requests.models import CallAttempt, CallBackRequest
from helpline.callback_requests.services import create_request
from helpline.review import services as review_services
from helpline.review.models import ExportBatch
from helpline.timeutil import utcnow
from tests.cases.helpers import item, seed_lists
from tests.conftest import csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user


def _dump() -> dict[str, dict[tuple, tuple]]:
    """Every row of every table, keyed by primary key, as plain tuples."""
    out: dict[str, dict[tuple, tuple]] = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            pk = [c.name for c in table.primary_key.columns]
            rows = conn.execute(table.select()).mappings().all()
            out[table.name] = {tuple(r[c] for c in pk): tuple(r.values()) for r in rows}
    return out


def _admin_client(app):
    from tests.conftest import AuthActions
    admin = make_user("admin", name="Ada Admin")
    client = app.test_client()
    AuthActions(client).login(admin.email)
    return client


def _anonymise(app, contact_id: int, reason: str = "Erasure request (Article 17)",
               client=None):
    client = client or _admin_client(app)
    url = f"/review/anonymise/{contact_id}"
    resp = client.post(url, data={"csrf_token": csrf_token(client, url), "reason": reason})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    return client


def _new_request(actor, **values) -> CallBackRequest:
    base = dict(full_name="Jane Doe", address=None, date_of_birth=None,
                contact_number="07700 900000", required_at=None, anytime=True,
                nature="New Application", notes=None)
    base.update(values)
    req = create_request(base, actor, "http://helpline.test",
                         lambda r: f"/callback-requests/{r.id}", "mp@example.org")
    db.session.commit()
    return req


# --- Must show 1: nothing outside the subject's set changes ----------------------------

@pytest.fixture
def smiths(app, client, auth):
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    supervisor = make_user("supervisor", name="Elliot Hunter")
    john = make_contact(handler, first_name="John", last_name="Smith", phone="07700 900111",
                        postcode="B1 1AA", email="john.smith@example.net",
                        address="4 Smith Street\nBirmingham")
    jane = make_contact(handler, first_name="Jane", last_name="Smith", phone="07700 900222",
                        postcode="B1 1AA")
    john_case = create_case(john, "Food parcel for John Smith", handler)
    add_note(john_case, "John Smith lives at 4 Smith Street, B1 1AA; phone 07700 900111",
             handler)
    jane_case = create_case(jane, "Food parcel for Jane Smith", handler)
    add_note(jane_case, "Jane lives on Smithfield Lane, B1 1AA", handler)
    john_int = create_interaction({"enquirer_id": john.id, "case_id": john_case.id,
                                   "notes": "John Smith rang about his parcel"},
                                  [supervisor], [], handler, "/interactions/x")
    jane_int = create_interaction({"enquirer_id": jane.id, "case_id": jane_case.id,
                                   "notes": "Jane Smith rang, B1 1AA"},
                                  [supervisor], [], handler, "/interactions/y")
    db.session.add(CallBack(case=john_case, contact_number="07700 900111",
                            description="Ring John back", call_received_at=utcnow(),
                            start_at=utcnow() + timedelta(hours=1),
                            end_at=utcnow() + timedelta(hours=2), owner_id=handler.id))
    db.session.add(CallBack(case=jane_case, contact_number="07700 900222",
                            description="Ring Jane Smith back", call_received_at=utcnow(),
                            start_at=utcnow() + timedelta(hours=1),
                            end_at=utcnow() + timedelta(hours=2), owner_id=handler.id))
    db.session.add(Article(title="Smith Street food bank", body="Ask for Mrs Smith; B1 1AA"))
    db.session.add(Organisation(category_id=item("signpost_category", "Food banks").id,
                                name="Smith & Sons Pantry", phone="0121 496 0000",
                                notes="Near Smith Street, Birmingham B1 1AA"))
    john_req = _new_request(handler, full_name="John Smith", contact_number="07700 900111")
    jane_req = _new_request(handler, full_name="Jane Smith", contact_number="07700 900222")
    db.session.commit()
    run_jobs(app)
    return {"john": john, "jane": jane, "john_case": john_case, "jane_case": jane_case,
            "john_int": john_int, "jane_int": jane_int, "john_req": john_req,
            "jane_req": jane_req, "handler": handler}


def _subject_rows(w) -> dict[str, set]:
    """The subject's rows, as the test knows them (independently of the code under test)."""
    john, case, inter, req = w["john"], w["john_case"], w["john_int"], w["john_req"]
    cbs = set(db.session.scalars(select(CallBack.id).where(CallBack.case_id == case.id)))
    keys = {("contact", str(john.id)), ("case", case.reference),
            ("interaction", inter.reference), ("call-back request", str(req.id))} | \
        {("call back", str(i)) for i in cbs}
    audit_ids = {a.id for a in db.session.scalars(select(AuditEntry))
                 if (a.record_type, a.record_id) in keys}
    urls = {f"/contacts/{john.id}", f"/cases/{case.id}", f"/interactions/{inter.id}",
            f"/callback-requests/{req.id}"} | {f"/callbacks/{i}" for i in cbs}
    handler_ids = {h.id for h in inter.handlers}
    outbox = {o.id for o in db.session.scalars(select(OutboxMail))
              if o.key.startswith((f"cbr-new-{req.id}-", f"cbr-mp-{req.id}"))
              or o.key in {f"interaction-assign-{h}" for h in handler_ids}}
    return {
        "contacts": {(john.id,)}, "cases": {(case.id,)},
        "case_notes": {(n.id,) for n in case.notes},
        "interactions": {(inter.id,)}, "call_backs": {(i,) for i in cbs},
        "callback_requests": {(req.id,)},
        "callback_attempts": {(a.id,) for a in req.attempts},
        "contact_verifications": {(v,) for v in db.session.scalars(text(
            "SELECT id FROM contact_verifications WHERE contact_id = :c"), {"c": john.id})},
        "audit_entries": {(i,) for i in audit_ids},
        "notifications": {(n.id,) for n in db.session.scalars(select(Notification))
                          if n.url in urls},
        "outbox_mail": {(i,) for i in outbox},
    }


def test_anonymise_changes_only_the_subjects_rows(app, client, auth, smiths):
    w = smiths
    admin = _admin_client(app)
    url = f"/review/anonymise/{w['john'].id}"
    token = csrf_token(admin, url)  # the admin opened the page (a "view" entry)
    subject = _subject_rows(w)
    before = _dump()
    max_audit = max(k[0] for k in before["audit_entries"])
    resp = admin.post(url, data={"csrf_token": token, "reason": "Erasure request"})
    assert resp.status_code == 302
    db.session.expire_all()
    after = _dump()

    for table, rows in before.items():
        mine = subject.get(table, set())
        for pk, row in rows.items():
            if pk in mine:
                continue
            assert after[table].get(pk) == row, f"{table} {pk} changed"
        new = set(after[table]) - set(rows)
        if table == "audit_entries":
            assert all(k[0] > max_audit for k in new)
        else:
            assert not new, f"rows added to {table}: {new}"

    # what the second contact's handler would see, spelled out
    jane = db.session.get(Contact, w["jane"].id)
    assert (jane.first_name, jane.last_name, jane.postcode, jane.last_key) == \
        ("Jane", "Smith", "B1 1AA", "smith")
    jane_case = db.session.get(Case, w["jane_case"].id)
    assert jane_case.title == "Food parcel for Jane Smith"
    assert [n.text for n in jane_case.notes] == ["Jane lives on Smithfield Lane, B1 1AA"]
    assert db.session.get(CallBackRequest, w["jane_req"].id).full_name == "Jane Smith"
    # the subject's own rows are erased
    john = db.session.get(Contact, w["john"].id)
    assert john.first_name is None and john.last_name is None and john.anonymised_at
    assert (john.region, john.postcode_area) == ("West Midlands", "B")
    john_case = db.session.get(Case, w["john_case"].id)
    assert john_case.title == "Food parcel for [anonymised]"
    assert [n.text for n in john_case.notes] == \
        ["[anonymised] lives at [anonymised]; phone [anonymised]"]


# --- Must show 2: no trace anywhere ----------------------------------------------------

AMY_TRACES = [r"\bamy\b", r"\blee\b", r"07700[\s-]?900[\s-]?456", r"\+44\s?7700\s?900\s?456",
              r"\(07700\)\s?900456", r"07700\s?900\s?999", r"ls1\s?4ap",
              r"amy\.lee@example\.net", r"1984-03-07", r"07/03/1984", r"park row"]


def _traces(textvalue: str) -> list[str]:
    return [p for p in AMY_TRACES if re.search(p, textvalue or "", re.IGNORECASE)]


def _database_traces() -> list[str]:
    hits = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()).mappings():
                for col, value in row.items():
                    found = _traces(str(value)) if value is not None else []
                    if found:
                        hits.append(f"{table.name}.{col}: {found} in {str(value)[:120]!r}")
    return hits


def _file_traces(folder: Path) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            from openpyxl import load_workbook
            wb = load_workbook(path, read_only=True)
            content = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(
                values_only=True) for v in row if v is not None)
        else:
            raw = path.read_bytes()
            content = raw.decode("utf-8", "replace")
            if path.parent.name in ("new", "cur"):  # a mail: decode its body too
                from email import message_from_bytes, policy
                msg = message_from_bytes(raw, policy=policy.default)
                body = msg.get_body(preferencelist=("plain", "html"))
                content += "\n" + (body.get_content() if body is not None else "")
        found = _traces(content)
        if found:
            hits.append(f"{path}: {found}")
    return hits


def _redis_traces(conn) -> list[str]:
    hits = []
    for key in conn.scan_iter("*"):
        kind = conn.type(key).decode()
        values: list[bytes] = [key]
        if kind == "string":
            values.append(conn.get(key))
        elif kind == "hash":
            values += list(conn.hgetall(key).values())
        elif kind == "list":
            values += conn.lrange(key, 0, -1)
        elif kind in ("set",):
            values += list(conn.smembers(key))
        elif kind == "zset":
            values += [m for m, _ in conn.zrange(key, 0, -1, withscores=True)]
        for v in values:
            if not isinstance(v, bytes):
                continue
            try:
                v = v + b"\n" + zlib.decompress(v)  # RQ's job data
            except zlib.error:
                pass
            found = _traces(v.decode("utf-8", "replace"))
            if found:
                hits.append(f"redis {key!r}: {found}")
    return hits


@pytest.fixture
def amy(app, client, auth):
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    data = make_user("data", name="Maggie Evans")
    supervisor = make_user("supervisor", name="Elliot Hunter", team="Call Back Team")
    amy = make_contact(handler, first_name="Amy", last_name="Lee", phone="07700 900999",
                       postcode="LS1 4AP", postcode_area="LS", region="Yorkshire and the Humber",
                       email="amy.lee@example.net", address="12 Park Row",
                       date_of_birth=date(1984, 3, 7))
    # a changed phone number and a corrected date of birth: before/after in the audit trail
    update_contact(amy, {"phone": "07700 900456", "date_of_birth": date(1984, 3, 7)},
                   "Amy gave a new number", handler)
    db.session.commit()
    case = create_case(amy, "Support for Amy Lee", handler)
    add_note(case, "AMY LEE rang from +44 7700 900456; also 07700-900-456 and (07700) 900456. "
             "Lives at 12 Park Row, LS14AP; born 07/03/1984; amy.lee@example.net. "
             "Moved from Leeds.", handler)
    case.safeguarding_activated, case.safeguarding_reason = True, "Amy is alone at 12 Park Row"
    interaction = create_interaction({"enquirer_id": amy.id, "case_id": case.id,
                                      "notes": "Amy called about food"},
                                     [supervisor], [], handler, f"/interactions/1")
    db.session.add(CallBack(case=case, contact_number="07700 900456",
                            description="Ring Amy back on 07700 900456",
                            call_received_at=utcnow(), start_at=utcnow() + timedelta(hours=1),
                            end_at=utcnow() + timedelta(hours=2), owner_id=handler.id))
    req = _new_request(handler, full_name="Amy Lee", contact_number="07700900456",
                       date_of_birth=date(1984, 3, 7), address="12 Park Row, Leeds LS1 4AP",
                       nature="Existing Case", existing_reason="MP",
                       notes="Amy's MP wrote in")
    db.session.add(CallAttempt(request=req, number=1, made_at=utcnow(),
                               result="Contact not made message left",
                               notes="Left Amy a message on 07700 900456", by_id=handler.id))
    mark_ready_for_review(case, handler)
    case.review_state, case.reviewed_at = "Accepted", utcnow()
    db.session.commit()
    for fmt in ("csv", "xlsx"):
        review_services.start_export({}, fmt, True, data)
        db.session.commit()
    run_jobs(app)  # mails to the catcher, exports written
    db.session.expire_all()
    assert all(b.status == "done" for b in db.session.scalars(select(ExportBatch)))
    return {"amy": amy, "case": case, "interaction": interaction, "request": req}


def test_after_anonymising_no_trace_is_left_anywhere(app, client, auth, amy, smtp):
    export_dir = Path(app.config["EXPORT_DIR"])
    mail_dir = Path(smtp["dir"])
    # the traces really are there before
    assert _database_traces() and _file_traces(export_dir) and _file_traces(mail_dir)

    _anonymise(app, amy["amy"].id, reason="Amy Lee asked to be forgotten")
    run_jobs(app)

    assert _database_traces() == []
    assert _file_traces(export_dir) == []
    assert _file_traces(mail_dir) == []
    assert _redis_traces(app.extensions["redis"]) == []
    # statistics survive: region, area, dates, categories, the case and its status
    c = db.session.get(Contact, amy["amy"].id)
    assert (c.region, c.postcode_area, c.consent_status) == \
        ("Yorkshire and the Humber", "LS", "Consent given")
    case = db.session.get(Case, amy["case"].id)
    assert case.review_state == "Accepted" and case.safeguarding_activated
    assert "Moved from Leeds." in case.notes[0].text  # a town is not the person's name
    req = db.session.get(CallBackRequest, amy["request"].id)
    assert (req.nature, req.existing_reason, req.anonymised_at is not None) == \
        ("Existing Case", "MP", True)
    # the contact page says so and shows no name
    html = client.get(f"/contacts/{c.id}").get_data(as_text=True)
    assert "Amy" not in html


def test_anonymise_needs_a_reason_and_shows_what_it_will_erase(app, client, auth, amy):
    admin = make_user("admin")
    auth.login(admin.email)
    url = f"/review/anonymise/{amy['amy'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "Records that belong to this person" in page and "Call-back requests" in page
    refused = client.post(url, data={"csrf_token": csrf_token(client, url), "reason": " "})
    assert refused.status_code == 422 and "Give a reason" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contact, amy["amy"].id).last_name == "Lee"


# --- Must show 3: the subject access ZIP -----------------------------------------------

def test_subject_access_zip_holds_requests_and_attempts_formula_safe_not_cached(
        app, client, auth, amy):
    amy_contact = amy["amy"]
    amy_contact.first_name = '=HYPERLINK("http://evil.example","Click me")'
    amy["request"].contact_id = amy_contact.id  # linked: no longer an exact name match
    db.session.commit()
    data = make_user("data", name="Dee Data")
    auth.login(data.email)
    url = f"/review/subject-access/{amy_contact.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Download subject access ZIP" in page.get_data(
        as_text=True)
    resp = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert resp.headers["Cache-Control"] == "private, no-store"
    z = zipfile.ZipFile(io.BytesIO(resp.get_data()))
    names = set(z.namelist())
    assert {"README.txt", "contacts.csv", "cases.csv", "notes.csv", "interactions.csv",
            "call_backs.csv", "call_back_requests.csv", "call_attempts.csv",
            "audit.csv"} <= names

    def rows(name):
        return list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8"))))
    requests = rows("call_back_requests.csv")
    assert [r["id"] for r in requests] == [str(amy["request"].id)]
    assert requests[0]["full_name"] == "Amy Lee"
    attempts = rows("call_attempts.csv")
    assert attempts[0]["notes"] == "Left Amy a message on 07700 900456"
    assert attempts[0]["by_id_name"] == "Angie Greenaway-Samuel"
    contact = rows("contacts.csv")[0]
    assert contact["first_name"] == "'=HYPERLINK(\"http://evil.example\",\"Click me\")"
    for name in names - {"README.txt", "subject-access.json"}:
        for r in rows(name):
            for value in r.values():
                assert not (value or "").startswith(("=", "+", "-", "@")), (name, value)
    # a GET never hands out the ZIP, and the export is in the audit trail
    assert page.mimetype == "text/html"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "subject-access"))
    assert entry.record_id == str(amy_contact.id) and "call back requests" in entry.reason


def test_subject_access_post_without_csrf_is_refused(app, client, auth, amy):
    data = make_user("data")
    auth.login(data.email)
    resp = client.post(f"/review/subject-access/{amy['amy'].id}", data={})
    assert resp.status_code in (400, 403) and resp.mimetype != "application/zip"


def test_a_duplicate_merged_into_the_subject_is_erased_with_it(app, client, auth, smiths):
    w = smiths
    dup = make_contact(w["handler"], first_name="Jonny", last_name="Smyth",
                       phone="0121 496 0999", postcode="B2 4QA")
    dup.active, dup.merged_into_id = False, w["john"].id
    dup_case = create_case(dup, "Old case for Jonny Smyth", w["handler"])
    db.session.commit()
    _anonymise(app, w["john"].id)
    d = db.session.get(Contact, dup.id)
    assert (d.first_name, d.last_name, d.phone, d.postcode) == (None, None, None, None)
    assert d.anonymised_at is not None
    assert db.session.get(Case, dup_case.id).title == "Old case for [anonymised]"
    # the other Smith is untouched
    assert db.session.get(Contact, w["jane"].id).last_name == "Smith"


def test_erasing_a_beneficiary_leaves_the_callers_own_records(app, client, auth):
    """Review finding: the caller's request and call back on a shared case keep their name,
    number and date of birth; only the beneficiary's values go."""
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    robert = make_contact(handler, first_name="Robert", last_name="Caller",
                          phone="07700 900321")
    amy = make_contact(handler, first_name="Amy", last_name="Benefit", phone="07700 900654",
                       postcode="B2 4QA")
    case = create_case(robert, "Food for Amy Benefit, called by Robert", handler)
    case.beneficiary_id = amy.id
    req = _new_request(handler, full_name="Robert Caller", contact_number="07700 900321",
                       date_of_birth=date(1950, 1, 2), notes="Robert wants an update on Amy")
    req.case_id, req.contact_id = case.id, robert.id
    cb = CallBack(case=case, contact_number="07700 900321",
                  description="Ring Robert back about Amy", call_received_at=utcnow(),
                  start_at=utcnow() + timedelta(hours=1), end_at=utcnow() + timedelta(hours=2),
                  owner_id=handler.id)
    db.session.add(cb)
    db.session.commit()
    _anonymise(app, amy.id)
    r = db.session.get(CallBackRequest, req.id)
    assert (r.full_name, r.contact_number, r.date_of_birth) == \
        ("Robert Caller", "07700 900321", date(1950, 1, 2))
    # Robert's request is his record, outside Amy's set: unchanged, byte for byte
    assert r.notes == "Robert wants an update on Amy"
    c = db.session.get(CallBack, cb.id)
    assert (c.contact_number, c.description) == ("07700 900321", "Ring Robert back about [anonymised]")
    assert db.session.get(Contact, robert.id).last_name == "Caller"
    assert db.session.get(Case, case.id).title == "Food for [anonymised], called by Robert"


def test_absolute_notification_links_stopped_reason_and_names_beside_digits(app, client, auth):
    """Review findings: the assignment notification links with BASE_URL; a request's
    'Stop calling' reason; a name beside an underscore or digits (a file name)."""
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    other = make_user("volunteer", name="Ben Other")
    amy = make_contact(handler, first_name="Patricia", last_name="Paperly", phone="07700 900077")
    base = app.config["BASE_URL"].rstrip("/")
    inter = create_interaction({"enquirer_id": amy.id, "notes": "see Patricia_Paperly_0770.pdf"},
                               [other], [], handler, "")
    db.session.flush()
    n = Notification(user_id=other.id, title="Assigned", body="Enquirer: Patricia Paperly",
                     url=f"{base}/interactions/{inter.id}")
    db.session.add(n)
    req = _new_request(handler, full_name="Patricia Paperly", contact_number="07700 900077")
    req.stopped_reason = "Patricia Paperly moved away"
    db.session.commit()
    _anonymise(app, amy.id)
    assert db.session.get(Notification, n.id).body == "Enquirer: [anonymised]"
    assert db.session.get(CallBackRequest, req.id).stopped_reason == "[anonymised] moved away"
    assert "Paperly" not in db.session.get(Interaction, inter.id).notes
