"""Issue 14, point 6: the Functionally Unique call back (steps 22–26) and the downtime
paper form attached to its request (steps 27–28)."""
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.catcher import read_messages
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.mailer import OutboxMail
from helpline.callback_requests.models import CallBackRequest, UniqueCallBack
from tests.cases.helpers import item, seed_lists
from tests.conftest import ROOT, client_for, csrf_token, wait_until
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user
from tests.callback_requests.test_requests import new_request

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64



@pytest.fixture
def case_world(app):
    seed_lists()
    owner = make_user("supervisor", name="Sam Supervisor", email="sam@example.org")
    contact = make_contact(owner, first_name="Olive", last_name="Jones", phone="07700 900321")
    case = create_case(contact, "Query about a payment", owner)
    db.session.commit()
    return {"owner": owner, "case": case}


def proforma(client, case, **data):
    url = f"/callback-requests/unique/new/{case.id}"
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    fields = {"csrf_token": csrf_token(client, url), "form_token": token,
              "contact_number": "07700 900321", "time_preferences": "Weekday mornings",
              "reason": "Needs the SAR team about a data request"}
    fields.update(data)
    return client.post(url, data=fields), fields


def test_a_functionally_unique_call_back_mails_the_chosen_team_once(app, smtp, case_world):
    client = client_for(app, case_world["owner"])
    case = case_world["case"]
    sars = item("functionally_unique_team", "CSA DPU SARS")
    resp, fields = proforma(client, case, team_id=str(sars.id))
    assert resp.status_code == 302
    again = client.post(f"/callback-requests/unique/new/{case.id}", data=fields)  # resent
    assert again.status_code == 302
    run_jobs(app)
    wait_until(lambda: db.session.scalar(select(func.count(OutboxMail.id)).where(
        OutboxMail.status == "sent")) == 1)
    mails = [m for m in read_messages(smtp["dir"]) if m["to"] == "dpu-sars@example.org"]
    assert len(mails) == 1
    body = mails[0]["body"]
    assert case.reference in mails[0]["subject"] and "Functionally Unique" in mails[0]["subject"]
    for text in ("07700 900321", "Weekday mornings", "Needs the SAR team", "Olive Jones"):
        assert text in body
    assert not [m for m in read_messages(smtp["dir"])
                if m["to"] == "specialist-services-sw@example.org"]
    # on the case until the team has done it
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    block = page[page.index('id="case-unique-callbacks"'):]
    assert "CSA DPU SARS" in block and "Weekday mornings" in block
    fu = db.session.scalar(select(UniqueCallBack))
    done = client.post(f"/callback-requests/unique/{fu.id}/done",
                       data={"csrf_token": csrf_token(client, f"/cases/{case.id}")})
    assert done.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="case-unique-callbacks"' not in page and "Weekday mornings" not in page
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.record_type == "functionally unique call back", AuditEntry.after == "Done"))


def test_a_proforma_without_a_team_is_refused_at_the_field(app, case_world):
    client = client_for(app, case_world["owner"])
    resp, _ = proforma(client, case_world["case"], team_id="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<title>Error:" in html
    assert "Choose the Functionally Unique team to send the proforma to" in html
    assert 'id="team_id-error"' in html or "govuk-select--error" in html
    assert "Needs the SAR team about a data request" in html  # nothing lost
    assert db.session.scalar(select(UniqueCallBack)) is None
    assert db.session.scalar(select(OutboxMail)) is None


def test_a_retired_team_or_one_without_a_mailbox_is_not_offered(app, case_world):
    client = client_for(app, case_world["owner"])
    sars = item("functionally_unique_team", "CSA DPU SARS")
    sars.retired = True
    db.session.commit()
    page = client.get(f"/callback-requests/unique/new/{case_world['case'].id}").get_data(
        as_text=True)
    assert "CSA DPU SARS" not in page and "South West Specialist Services" in page
    resp, _ = proforma(client, case_world["case"], team_id=str(sars.id))  # crafted
    assert resp.status_code == 422 and db.session.scalar(select(UniqueCallBack)) is None


def test_a_volunteer_must_verify_the_caller_first(app, case_world):
    volunteer = client_for(app, make_user("volunteer"))
    assert volunteer.get(
        f"/callback-requests/unique/new/{case_world['case'].id}").status_code == 403


def test_admin_keeps_the_teams_and_their_mailboxes(app):
    seed_lists()
    admin = client_for(app, make_user("admin"))
    url = "/admin/lists/functionally_unique_team"
    page = admin.get(url).get_data(as_text=True)
    assert "dpu-sars@example.org" in page
    bad = admin.post("/admin/lists/functionally_unique_team/add",
                     data={"csrf_token": csrf_token(admin, url), "name": "CPO team",
                           "mailbox": "not an address"}, follow_redirects=True)
    assert "Enter the mailbox as an email address" in bad.get_data(as_text=True)
    admin.post("/admin/lists/functionally_unique_team/add",
               data={"csrf_token": csrf_token(admin, url), "name": "CPO team",
                     "mailbox": "cpo@example.org"})
    added = item("functionally_unique_team", "CPO team")
    assert added.mailbox == "cpo@example.org"
    admin.post(f"/admin/lists/items/{added.id}", data={
        "csrf_token": csrf_token(admin, url), "action": "mailbox", "mailbox": "cpo2@example.org"})
    db.session.expire_all()
    assert item("functionally_unique_team", "CPO team").mailbox == "cpo2@example.org"


# --- the downtime paper form -------------------------------------------------------

@pytest.fixture
def downtime(app, client, auth, tmp_path):
    seed_lists()
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    taker = make_user("volunteer", name="Tess Taker", team="Call Back Team")
    auth.login(taker.email)
    assert new_request(client, downtime="y", offline_template="RP Applies NI",
                       anytime="y", required_at="").status_code == 302
    return {"req": db.session.scalar(select(CallBackRequest)), "dir": tmp_path / "attachments"}


def upload(client, req, content: bytes, name: str):
    url = f"/callback-requests/{req.id}"
    return client.post(f"{url}/paper-form", data={
        "csrf_token": csrf_token(client, url), "attachment": (io.BytesIO(content), name)},
        content_type="multipart/form-data")


def test_the_completed_form_is_attached_and_served_only_to_staff_who_may_see_it(
        app, client, downtime):
    req = downtime["req"]
    assert "Completed paper form" in client.get(f"/callback-requests/{req.id}").get_data(
        as_text=True)
    assert upload(client, req, PDF, "application form.pdf").status_code == 302
    stored = list(downtime["dir"].iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    assert not list((ROOT / "static").rglob(stored[0].name))
    page = client.get(f"/callback-requests/{req.id}").get_data(as_text=True)
    assert "application form.pdf" in page
    resp = client.get(f"/callback-requests/{req.id}/paper-form")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "view", AuditEntry.record_type == "call-back request paper form"))
    # a volunteer of another team may not see the request or its form
    outsider = client_for(app, make_user("volunteer", team="Night Shift"))
    assert outsider.get(f"/callback-requests/{req.id}/paper-form").status_code == 403
    assert outsider.get(f"/callback-requests/{req.id}").status_code == 403
    # a team leader may; an image replaces the PDF
    leader = client_for(app, make_user("supervisor", team="Night Shift"))
    assert upload(leader, req, PNG, "scan.png").status_code == 302
    resp = leader.get(f"/callback-requests/{req.id}/paper-form")
    assert resp.mimetype == "image/png" and resp.data == PNG


@pytest.mark.parametrize("content,name,message", [
    (b"MZ\x90\x00 this is a program", "form.pdf", "The file must be a PDF, PNG or JPEG"),
    (b"<html><script>alert(1)</script></html>", "form.png",
     "The file must be a PDF, PNG or JPEG"),
    (PDF + b"x" * 4096, "big.pdf", "The file must be at most 2 KB"),
    (b"", "empty.pdf", "The chosen file is empty"),
])
def test_wrong_type_or_too_large_is_refused_at_the_field(app, client, downtime, content, name,
                                                         message):
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    req = downtime["req"]
    resp = upload(client, req, content, name)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in html and "<title>Error:" in html
    assert 'govuk-file-upload--error' in html or 'id="attachment-error"' in html
    db.session.expire_all()
    assert db.session.get(CallBackRequest, req.id).attachment_key is None
    assert not Path(downtime["dir"]).exists() or not list(Path(downtime["dir"]).iterdir())


def test_no_file_chosen(app, client, downtime):
    req = downtime["req"]
    url = f"/callback-requests/{req.id}"
    resp = client.post(f"{url}/paper-form", data={"csrf_token": csrf_token(client, url)},
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "Choose the completed paper form to attach" in resp.get_data(as_text=True)


def test_a_proforma_with_a_unicode_digit_team_is_refused_at_the_field(app, case_world):
    client = client_for(app, case_world["owner"])
    resp, _ = proforma(client, case_world["case"], team_id="²")
    assert resp.status_code == 422
    assert "Choose the Functionally Unique team to send the proforma to" in resp.get_data(
        as_text=True)
    assert db.session.scalar(select(UniqueCallBack)) is None
