"""Data team: queue, accept/send back, exports, subject access, anonymisation, retention."""
import csv
import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from helpline.cases.models import Case, Signpost
from helpline.cases.services import create_case, save_case
from helpline.extensions import db
from helpline.review.models import ExportBatch
from tests.cases.helpers import item, seed_lists
from tests.conftest import csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user


@pytest.fixture
def world(app, client, auth):
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    data = make_user("data", name="Maggie Evans")
    caller = make_contact(handler, first_name="Robert", last_name="Livingstone",
                          phone="07700 900123")
    case = create_case(caller, "=HYPERLINK(\"evil\")", handler)
    case.signposts.append(Signpost(category_id=item("signpost_category", "Food banks").id))
    from helpline.cases.services import add_note, mark_ready_for_review
    add_note(case, "Robert Livingstone needs food", handler)
    mark_ready_for_review(case, handler)
    db.session.commit()
    auth.login(data.email)
    return {"handler": handler, "data": data, "caller": caller, "case": case}


REVIEW_URLS = ["/review/", "/review/export", "/review/exports", "/review/cases/{case}",
               "/review/subject-access/{contact}", "/review/anonymise/{contact}"]


@pytest.mark.parametrize("role", ["volunteer", "supervisor"])
@pytest.mark.parametrize("url", REVIEW_URLS)
def test_volunteers_and_supervisors_get_403(app, world, role, url):
    from tests.conftest import AuthActions
    other = app.test_client()
    AuthActions(other).login(make_user(role).email)
    path = url.format(case=world["case"].id, contact=world["caller"].id)
    assert other.get(path).status_code == 403


def accept(client, case, checklist):
    url = f"/review/cases/{case.id}"
    return client.post(f"{url}/accept", data={"csrf_token": csrf_token(client, url),
                                              "checklist": checklist}, follow_redirects=True)


def all_checks():
    from helpline.lookups.models import offered
    return [i.name for i in offered("review_checklist")]


def test_queue_accept_with_checklist_and_update_after_review(client, world):
    case = world["case"]
    queue = client.get("/review/").get_data(as_text=True)
    assert case.reference in queue and "1</strong> case Ready for review" in queue
    page = client.get(f"/review/cases/{case.id}").get_data(as_text=True)
    assert "Robert Livingstone needs food" in page and "Review checklist" in page
    refused = accept(client, case, all_checks()[:1])
    assert "Tick every checklist item" in refused.get_data(as_text=True)
    ok = accept(client, case, all_checks())
    assert f"{case.reference} accepted." in ok.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.review_state == "Accepted" and case.reviewed_by_id == world["data"].id
    assert case.status == "Open"  # the service desk's status is its own
    assert case.reference not in client.get("/review/").get_data(as_text=True)
    # a later change puts it back, flagged
    from helpline.cases.services import add_note
    add_note(case, "Caller rang again", world["handler"])  # by itself: back to the data team
    db.session.commit()
    assert case.review_state == "Ready for review"
    queue = client.get("/review/?updated=1").get_data(as_text=True)
    assert case.reference in queue and "Updated since review" in queue
    changes = client.get(f"/review/cases/{case.id}").get_data(as_text=True)
    assert "Changed since the last review" in changes and "add-note" in changes


def test_send_back_needs_a_comment_and_notifies_the_owner(client, world):
    case = world["case"]
    url = f"/review/cases/{case.id}"
    resp = client.post(f"{url}/send-back", data={"csrf_token": csrf_token(client, url),
                                                 "comment": ""}, follow_redirects=True)
    assert "Enter a comment" in resp.get_data(as_text=True)
    client.post(f"{url}/send-back", data={"csrf_token": csrf_token(client, url),
                                          "comment": "Remove the name from the notes"})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.review_state) == ("Open", "Sent back")
    from helpline.notifications.models import Notification
    note = db.session.scalar(select(Notification).where(
        Notification.user_id == world["handler"].id))
    assert "sent back" in note.title


def _export(app, client, **form):
    data = {"fmt": "csv", "not_exported": "1", **form}
    data["csrf_token"] = csrf_token(client, "/review/export")
    resp = client.post("/review/export", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    run_jobs(app)
    batch = db.session.scalars(select(ExportBatch).order_by(ExportBatch.id.desc())).first()
    db.session.refresh(batch)
    return batch


def test_csv_export_has_no_names_and_neutralises_formulas(app, client, world):
    accept(client, world["case"], all_checks())
    batch = _export(app, client)
    assert batch.status == "done", batch.error
    assert batch.total == 1 and len(batch.sha256) == 64
    body = client.get(f"/review/export/{batch.id}/download").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "Case reference" and rows[1][0] == world["case"].reference
    assert "Livingstone" not in body and "07700" not in body
    assert "Food banks" in rows[1][10]
    log = client.get("/review/exports").get_data(as_text=True)
    assert f"/review/export/{batch.id}/download" in log
    db.session.expire_all()
    assert db.session.get(Case, world["case"].id).export_batch_id == batch.id
    # "only not yet exported" now finds nothing
    assert _export(app, client).total == 0


def test_personal_export_and_xlsx(app, client, world):
    accept(client, world["case"], all_checks())
    batch = _export(app, client, with_personal="1", fmt="xlsx")
    from openpyxl import load_workbook
    data = client.get(f"/review/export/{batch.id}/download").get_data()
    ws = load_workbook(io.BytesIO(data)).active
    values = [c.value for c in list(ws.iter_rows())[1]]
    assert "Robert Livingstone" in values
    title_cell = [v for v in values if isinstance(v, str) and "HYPERLINK" in v]
    assert title_cell == [] or all(not v.startswith("=") for v in title_cell)


def test_progress_fragment(app, client, world):
    accept(client, world["case"], all_checks())
    batch = _export(app, client)
    html = client.get(f"/review/export/{batch.id}", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert 'value="100"' in html and "Download CSV" in html


def test_subject_access_zip(client, world):
    url = f"/review/subject-access/{world['caller'].id}"
    resp = client.post(url, data={"csrf_token": csrf_token(client, url)})
    z = zipfile.ZipFile(io.BytesIO(resp.get_data()))
    names = set(z.namelist())
    assert {"subject-access.json", "cases.csv", "notes.csv", "audit.csv"} <= names
    assert world["case"].reference.encode() in z.read("subject-access.json") or \
        b'"title"' in z.read("subject-access.json")
    assert b"Robert Livingstone needs food" in z.read("notes.csv")


def _all_text(name: str) -> list[str]:
    hits = []
    for table in db.metadata.sorted_tables:
        for col in table.columns:
            if str(col.type).startswith(("VARCHAR", "TEXT", "JSON")):
                n = db.session.scalar(select(func.count()).select_from(table).where(
                    col.cast(db.String).contains(name)))
                if n:
                    hits.append(f"{table.name}.{col.name}")
    return hits


def test_anonymisation_leaves_no_name_and_keeps_counts(app, client, auth, world):
    admin = make_user("admin")
    auth.logout()
    auth.login(admin.email)
    signposts_before = db.session.scalar(select(func.count(Signpost.id)))
    url = f"/review/anonymise/{world['caller'].id}"
    refused = client.post(url, data={"csrf_token": csrf_token(client, url), "reason": ""})
    assert refused.status_code == 422 and "Give a reason" in refused.get_data(as_text=True)
    client.post(url, data={"csrf_token": csrf_token(client, url), "reason": "Erasure request"})
    db.session.expire_all()
    assert _all_text("Livingstone") == []
    assert _all_text("07700 900123") == []
    assert db.session.scalar(select(func.count(Signpost.id))) == signposts_before
    from helpline.contacts.models import Contact
    c = db.session.get(Contact, world["caller"].id)
    assert c.region == "West Midlands" and c.first_name is None


def test_retention_anonymises_inactive_contacts(app, world):
    from helpline.contacts.models import Contact
    from helpline.review import retention
    cid = world["caller"].id
    assert retention.run(6, dry_run=True).contacts == []
    later = db.session.get(Contact, cid).updated_at + timedelta(days=365 * 7)
    assert retention.run(6, now=later).contacts == [cid]
    db.session.expire_all()
    assert db.session.get(Contact, cid).last_name is None


def test_progress_moves_during_a_large_export(app, world, monkeypatch):
    """The batch row shows rows done while the export is still running."""
    from pathlib import Path

    from sqlalchemy.orm import Session

    from helpline.review import exports
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 10)
    from helpline.timeutil import utcnow
    for i in range(35):
        c = create_case(world["caller"], f"Case {i}", world["handler"])
        c.review_state, c.reviewed_at = "Accepted", utcnow()
    db.session.commit()
    batch = exports.start_export({}, "csv", False, world["data"])
    db.session.commit()
    batch_id = batch.id
    assert exports._claim(batch_id, Path(app.config["EXPORT_DIR"]) / "x.csv")
    seen = []
    rows = exports._rows(batch_id, False, exports.case_ids({}))
    for n, _row in enumerate(rows, start=1):
        if n % 10 == 1 and n > 1:
            with Session(db.engine) as other:  # what the progress bar's request sees
                seen.append(other.get(ExportBatch, batch_id).done_rows)
    assert seen == [10, 20, 30]
    assert db.session.scalar(select(func.count(Case.id)).where(
        Case.export_batch_id.is_not(None))) == 0  # progress marks nothing
