"""Mail texts come from templates/email/: the default wording is exactly what the mails
said when it was built in Python, the service name (Admin → Settings) is used, and no
typed value can add a line to a subject."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace as NS

import pytest

from helpline.mail_texts import MailTemplateError, render_mail
from helpline.callback_requests.services import _details
from tests.conftest import ROOT

BASE = "http://127.0.0.1:8000"
ANGIE = NS(name="Angie Ward", email="angie.ward@example.org")
SUP = NS(name="Sam Supervisor", email="sam@example.org")


def _req(**kw):
    values = dict(full_name="Robert Livingstone", contact_number="07700 900123",
                  address="1 High St", date_of_birth=date(1962, 3, 27),
                  due_label="Anytime", nature="Existing Case", existing_reason="MP",
                  notes="Call after 5", downtime=False, type_label="", offline_template=None)
    return NS(**{**values, **kw})


def test_case_assigned(app):
    case = NS(reference="CA1001", title="Food parcel")
    link = f"{BASE}/cases/7"
    assert render_mail("case_assigned", case=case, assignee=ANGIE, link=link) == (
        "You have been assigned to the Helpline Case CA1001",
        "Dear Angie Ward,\n\nYou have been assigned to the Helpline Case CA1001: Food parcel."
        f"\n\nView Helpline Case: {link}\n")
    # issue 15: the mail names the caller
    assert render_mail("case_assigned", case=case, assignee=ANGIE, link=link,
                       caller_name="Robert Livingstone")[1] == (
        "Dear Angie Ward,\n\nYou have been assigned to the Helpline Case CA1001: Food parcel."
        f"\nCaller: Robert Livingstone\n\nView Helpline Case: {link}\n")


def test_interaction_assigned(app):
    i = NS(reference="INT39100")
    assert render_mail("interaction_assigned", interaction=i, handler=ANGIE, assigned_by=SUP,
                       summary="07/12/2026 10:00 · Phone · Inbound", link="http://x/i/1") == (
        "You have been assigned to the Helpline Interaction INT39100",
        "Dear Angie Ward,\n\nYou have been assigned to the Helpline Interaction INT39100 by "
        "Sam Supervisor.\n\n07/12/2026 10:00 · Phone · Inbound\n\n"
        "View Helpline Interaction: http://x/i/1\n")


def test_callback_overdue(app):
    cb = NS(id=5, subject="Ring Mrs Khan", description="x" * 300)
    title = "Overdue call back on Ring Mrs Khan"
    body = f"Owner: Angie Ward. Was due by 07/12/2026 10:00. {'x' * 200}"
    assert render_mail("callback_overdue", call_back=cb, supervisor=SUP, owner="Angie Ward",
                       due="07/12/2026 10:00", link=f"{BASE}/callbacks/5") == (
        title, f"Dear Sam Supervisor,\n\n{title}.\n{body}\n\nView call back: {BASE}/callbacks/5\n")


@pytest.mark.parametrize("req", [
    _req(), _req(address=None, date_of_birth=None, existing_reason=None, notes=None),
    _req(downtime=True, type_label="Application taken during downtime",
         offline_template="Paper form 12")], ids=["full", "sparse", "downtime"])
def test_call_back_request_mails(app, req):
    link = f"{BASE}/callback-requests/3"
    assert render_mail("request_new", req=req, leader=SUP, link=link) == (
        f"New call-back request awaiting allocation: {req.full_name}",
        f"Dear {SUP.name},\n\nA call-back request has been entered and is awaiting allocation."
        f"\n\n{_details(req)}\n\nAllocate it: {link}\n")
    assert render_mail("request_mp", req=req, link=link) == (
        f"MP call-back request: {req.full_name}",
        f"An MP enquiry call-back request was received.\n\n{_details(req)}\n\n{link}\n")
    assert render_mail("request_allocated", req=req, caseworker=ANGIE, allocated_by=SUP,
                       link=link) == (
        f"Call-back request allocated to you: {req.full_name}",
        f"Dear {ANGIE.name},\n\n{SUP.name} has allocated a call-back request to you.\n\n"
        f"{_details(req)}\n\nOpen it: {link}\n")


def test_unique_proforma(app):
    case = NS(reference="CA1001", title="Food parcel", caller=NS(full_name="Robert Livingstone"))
    fu = NS(contact_number="07700 900123", time_preferences="Mornings", reason="SAR")
    assert render_mail("unique_proforma", case=case, proforma=fu, sent_by=ANGIE,
                       link=f"{BASE}/cases/7") == (
        "Functionally Unique Callback Proforma: CA1001",
        "Functionally Unique Callback Proforma\n\nCase: CA1001 Food parcel\n"
        "Client: Robert Livingstone\nContact number: 07700 900123\nTime preferences: Mornings\n"
        "Reason for the call back: SAR\n\nSent by Angie Ward (angie.ward@example.org). Please "
        "call the client back and let us know when it is done, quoting CA1001.\n\n"
        f"{BASE}/cases/7\n")


def test_referral_sent(app):
    """The link first; the person's details only with consent; typed extra fields last."""
    person = NS(full_name="Robert Livingstone", address="1 High St", postcode="B1 1AA",
                email="rob@example.org", phone="07700 900123", preferred_contact_time=None,
                region="West Midlands")
    referral = NS(response_type=NS(name="Food"))
    head = ("Dear Midlands cell,\n\nThe Helpline has a Local Referral for you to action.\n\n"
            "Mark as actioned: when it has been actioned, please say so with this link (no "
            f"sign-in needed; the link works once):\n{BASE}/r/x\n\n"
            "Case Reference: CA1001\nLocal Response Type: Food\nRegion: West Midlands\n\n")
    tail = "\nDetails given by the caller (as typed):\nPeople in household: 4\n"
    for share, middle in (
            (True, "Name: Robert Livingstone\nAddress: 1 High St\nPostcode: B1 1AA\n"
                   "Phone: 07700 900123\nEmail: rob@example.org\n"),
            (False, "Personal details have not been shared: consent was not given. To act on "
                    "this referral, contact the Helpline quoting the case reference CA1001.\n")):
        assert render_mail("referral_sent", referral=referral, case=NS(reference="CA1001"),
                           person=person, team=NS(name="Midlands cell"), share=share,
                           extra=[("People in household", "4")], link=f"{BASE}/r/x") == (
            "Local Referral Food for CA1001 from the Helpline", head + middle + tail)


def test_staff_account(app):
    assert render_mail("staff_account", user=ANGIE, password="s3cret-Temp",
                       link=f"{BASE}/login") == (
        "Your Helpline account",
        f"Dear Angie Ward,\n\nAn account has been made for you on Helpline: {BASE}/login\n\n"
        "Sign in with angie.ward@example.org and the temporary password s3cret-Temp: you "
        "will choose your own password when you first sign in.\n")


def test_the_service_name_setting_is_used(app):
    from helpline import site_settings
    from helpline.extensions import db
    db.session.add(site_settings.Setting(key="service_name", value="Carers Line"))
    db.session.commit()
    site_settings.invalidate()
    subject, body = render_mail("case_assigned", case=NS(reference="CA1", title="T"),
                                assignee=ANGIE, link="L")
    assert subject == "You have been assigned to the Carers Line Case CA1"
    assert "View Carers Line Case: L" in body


def test_a_typed_value_cannot_add_a_header_to_the_subject(app):
    req = _req(full_name="Eve\r\nBcc: everyone@example.org\n\nX")
    subject, body = render_mail("request_mp", req=req, link="L")
    assert "\n" not in subject and "\r" not in subject
    assert subject == "MP call-back request: Eve Bcc: everyone@example.org X"
    assert body.startswith("An MP enquiry call-back request was received.\n\n")


def test_every_template_follows_the_convention(app):
    folder = ROOT / "templates" / "email"
    names = [p.stem for p in folder.glob("*.txt") if not p.name.startswith("_")]
    assert len(names) == 9
    for name in names:
        first, second = (folder / f"{name}.txt").read_text().split("\n")[:2]
        assert first.startswith("Subject: ") and second == "", name


def test_a_template_without_a_subject_line_is_refused(app, tmp_path):
    from jinja2 import ChoiceLoader, DictLoader
    app.jinja_env.loader = ChoiceLoader([DictLoader({"email/bad.txt": "Hello\nBody"}),
                                         app.jinja_env.loader])
    with pytest.raises(MailTemplateError):
        render_mail("bad")


def test_mails_are_plain_text_never_html_escaped(app):
    """Break finding: the mails came out HTML-escaped (o&#39;brien@…, Tom &amp; Jerry)."""
    case = NS(reference="CA1001", title="Tom & Jerry <urgent>")
    someone = NS(name="Siobhán O'Brien", email="o'brien@example.org")
    link = f"{BASE}/cases/7?a=1&b=2"
    subject, body = render_mail("case_assigned", case=case, assignee=someone, link=link)
    assert body == ("Dear Siobhán O'Brien,\n\nYou have been assigned to the Helpline Case "
                    f"CA1001: Tom & Jerry <urgent>.\n\nView Helpline Case: {link}\n")
    assert "&#39;" not in subject + body and "&amp;" not in subject + body
    _, account = render_mail("staff_account", user=someone, password="x&y'z", link=link)
    assert "o'brien@example.org" in account and "x&y'z" in account
