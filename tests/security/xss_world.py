"""Build one record of every kind a user types into, through the real forms (with CSRF),
with a given text in every free-text field. Used by the XSS and fuzz suites."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from helpline.auth.models import Team, User
from helpline.callbacks.models import CallBack
from helpline.cases.drafts import CaseDraft
from helpline.cases.models import Case
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.knowledge.models import Article, LocalTeam, Organisation
from helpline.lookups.models import LookupItem, ResponseTypeField, offered
from helpline.mailer import queue_mail
from helpline.callback_requests.models import CallBackRequest, UniqueCallBack
from helpline.review.models import ExportBatch
from helpline.telephony.models import Call
from helpline.timeutil import london_format, utcnow
from tests.cases.helpers import case_form, extra_field, item, seed_lists
from tests.contacts.helpers import contact_form
from tests.security.conftest import token_of


class Poster:
    """Posts forms as a signed-in client, reading the CSRF token from the form page."""

    def __init__(self, client) -> None:
        self.client = client
        self.log: list[tuple[str, int]] = []

    def post(self, url: str, data: dict, page: str | None = None, **kw):
        data = {**data, "csrf_token": token_of(self.client, page or url)}
        resp = self.client.post(url, data=data, **kw)
        self.log.append((url, resp.status_code))
        if resp.status_code == 422:
            import re
            errs = re.findall(r'govuk-error-message">\s*<span[^>]*>[^<]*</span>([^<]*)<',
                              resp.get_data(as_text=True))
            self.log.append((f"{url} errors: {errs}", 0))
        return resp


def _latest(model):
    return db.session.scalar(select(model).order_by(model.id.desc()).limit(1))


def build(client, admin_id: int, text: str) -> dict:
    """Every record type, `text` in every free-text field; returns ids for URL building."""
    db.session.expire_all()
    p = Poster(client)
    seed_lists()
    ok = {}
    # Administration first: the lists' item names show on every case screen.
    p.post("/admin/lists/signpost_category/add", {"name": text}, page="/admin/lists/signpost_category")
    food = item("local_response_type", "Food")
    furl = f"/admin/lists/response-types/{food.id}/fields"
    p.post(furl, {"name": text, "kind": "text"})
    p.post("/admin/teams", {"name": text[:100], "shift_start": "08:00", "shift_end": "20:00"})
    p.post("/admin/users/new", {"name": text, "email": "typed.user@example.org",
                                "role": "volunteer", "password": "long-enough-1",
                                "team": "Night Shift"})
    typed_user = db.session.scalar(select(User).where(User.email == "typed.user@example.org"))
    p.post("/admin/knowledge", {"title": text, "body": text, "tags": text})
    p.post("/admin/directory", {"name": text, "category_id": item("signpost_category", "Food banks").id,
                                "region": "", "phone": "0121 496 0000", "website": text,
                                "opening_hours": text, "notes": text})
    p.post("/admin/local-teams", {"name": text[:120], "mailbox": "typed.local@example.org",
                                  "regions": ["West Midlands"]})
    # The call flow.
    p.post("/contacts/new", contact_form(first_name=text, last_name=text, address=text,
                                         preferred_contact_time=text))
    contact = _latest(Contact)
    people = extra_field("Food", "People in household")
    meds = item("local_response_type", "Medication")
    pharmacy = db.session.scalar(select(ResponseTypeField).where(
        ResponseTypeField.response_type_id == meds.id, ResponseTypeField.kind == "text"))
    typed_field = db.session.scalar(select(ResponseTypeField).where(
        ResponseTypeField.response_type_id == food.id).order_by(ResponseTypeField.id.desc()))
    typed_category = db.session.scalar(select(LookupItem).where(
        LookupItem.list_name == "signpost_category").order_by(LookupItem.id.desc()))
    rows = {"signposts-0-category": typed_category.id,
            "referrals-0-type": food.id, f"referrals-0-x-{people.id}": "3",
            f"referrals-0-x-{typed_field.id}": text, "referrals-1-type": meds.id}
    if pharmacy is not None:
        rows[f"referrals-1-x-{pharmacy.id}"] = text
        rows[f"referrals-1-x-{extra_field('Medication', 'Paid or unpaid').id}"] = "Paid"
    url = f"/cases/new/{contact.id}"
    p.post(url, {**case_form(title=text, safeguarding_activated="yes", safeguarding_reason=text,
                             note=text, ready_for_review="yes"), **rows})
    case = _latest(Case)
    if case is not None:  # accepted: both referrals are sent to the typed team, one declined
        review = f"/review/cases/{case.id}"
        p.post(f"{review}/accept", {"checklist": [i.name for i in offered("review_checklist")]},
               page=review)
        p.post(f"/review/referrals/{case.referrals[1].id}/decline", {"declined_reason": text},
               page=review)
        db.session.expire_all()
        statuses = [r.status for r in db.session.get(Case, case.id).referrals]
        if statuses != ["Sent", "Declined"]:  # the referral rows were not exercised
            p.log.append((f"{review} referrals {statuses}", 0))
    p.post(f"/cases/new/{contact.id}", case_form(title=text, ready_for_review="yes"))
    sent_back = _latest(Case)
    if case is not None:
        p.post(f"/cases/{case.id}/notes", {"note": text}, page=f"/cases/{case.id}")
        cb_url = f"/callbacks/new/{case.id}"
        p.post(cb_url, {"contact_number": "07700 900123", "description": text,
                        "call_received": london_format(utcnow()), "preferred": "", "alarm": "y",
                        "start": "", "end": "", "owner": "me"})
    if case is not None:  # a Functionally Unique team named by the text, and its proforma
        p.post("/admin/lists/functionally_unique_team/add",
               {"name": text, "mailbox": "typed.team@example.org"},
               page="/admin/lists/functionally_unique_team")
        fu_team = db.session.scalar(select(LookupItem).where(
            LookupItem.list_name == "functionally_unique_team").order_by(LookupItem.id.desc()))
        p.post(f"/callback-requests/unique/new/{case.id}", {
            "team_id": fu_team.id, "contact_number": "07700 900123",
            "time_preferences": text, "reason": text})
    if sent_back is not None and sent_back is not case:
        p.post(f"/review/cases/{sent_back.id}/send-back", {"comment": text},
               page=f"/review/cases/{sent_back.id}")
    p.post("/interactions/new", {
        "enquirer_id": contact.id, "enquirer_country": "England",
        "interaction_date": london_format(utcnow() - timedelta(minutes=5)),
        "method_id": item("interaction_method", "Phone Call").id, "direction": "Inbound",
        "call_state_id": item("call_state", "Completed").id, "duration_mins": "5",
        "case_ref": case.reference if case else "", "notes": text,
        "handlers": [admin_id] + ([typed_user.id] if typed_user else [])})
    p.post("/callback-requests/new", {
        "full_name": text, "address": text, "contact_number": "07700 900555",
        "required_at": london_format(utcnow() + timedelta(hours=3)), "nature": "New Application",
        "notes": text, "date_of_birth": ["3", "4", "1950"]})
    req = _latest(CallBackRequest)
    if req is not None:
        rurl = f"/callback-requests/{req.id}"
        p.post(f"{rurl}/allocate", {"caseworker": admin_id}, page=rurl)
        p.post(f"{rurl}/attempts", {"made_at": london_format(utcnow()),
                                    "result": "Called contact not made", "notes": text,
                                    "next_call_at": london_format(utcnow() + timedelta(hours=1))},
               page=rurl)
        p.post(f"{rurl}/stop", {"reason": text}, page=rurl)
    if contact is not None:  # an unsaved case draft holding the text (offered on New Case)
        p.post(f"/cases/drafts/new/{contact.id}", case_form(title=text, note=text),
               page=f"/cases/new/{contact.id}", headers={"HX-Request": "true"})
    batch = ExportBatch(created_by_id=admin_id, filters={}, fmt="csv")
    mail = queue_mail("x@example.org", "Subject", "Body", key="xss")
    db.session.add(batch)
    db.session.commit()
    team = db.session.scalar(select(Team).order_by(Team.id.desc()).limit(1))
    # a phone system sent the text as the caller's number (missed, and ringing for the admin)
    call = Call(call_ref=text[:250], number=text[:40], number_display=text[:40],
                started_at=utcnow(), ringing=[db.session.get(User, admin_id)])
    missed = Call(call_ref="x" + text[:200], number=text[:40], number_display=text[:40],
                  started_at=utcnow(), ended_at=utcnow(), cause=text[:40])
    db.session.add_all([call, missed])
    db.session.commit()
    ids = {"contact_id": contact.id if contact else 0, "caller_id": contact.id if contact else 0,
           "case_id": case.id if case else 0,
           "interaction_id": (_latest(Interaction) or Interaction(id=0)).id,
           "cb_id": (_latest(CallBack) or CallBack(id=0)).id,
           "request_id": req.id if req else 0, "batch_id": batch.id,
           "article_id": (_latest(Article) or Article(id=0)).id, "mail_id": mail.id,
           "user_id": typed_user.id if typed_user else admin_id,
           "team_id": team.id, "item_id": food.id,
           "field_id": typed_field.id if typed_field else 0,
           "list_name": "signpost_category", "active": 1, "key": "xss",
           "filename": "css/helpline.css", "token": "none", "name": "mine",
           "organisation_id": (_latest(Organisation) or Organisation(id=0)).id,
           "unique_id": (_latest(UniqueCallBack) or UniqueCallBack(id=0)).id,
           "local_team_id": (_latest(LocalTeam) or LocalTeam(id=0)).id,
           "referral_id": case.referrals[0].id if case and case.referrals else 0,
           "draft_id": (_latest(CaseDraft) or CaseDraft(id=0)).id, "call_id": missed.id}
    ok["log"] = p.log
    return {**ids, "_log": p.log}
