"""Every page or fragment that shows a person's details logs who looked ("view" entries).

Walks the URL map: each GET route is either in READS (and must write a view entry naming
the record it showed) or in NO_PERSON (shows nobody's details). A new GET route fails
`test_every_get_route_is_classified` until someone decides which it is.
"""
from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.auth.models import User
from helpline.callbacks import services as cb_services
from helpline.callbacks.models import SHOWING, CallBack
from helpline.cases.models import Case
from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.interactions.models import Interaction, InteractionHandler
from helpline.mailer import OutboxMail
from helpline.callback_requests.models import CallBackRequest
from helpline.contacts.models import Contact
from helpline.telephony.models import Call
from helpline.timeutil import utcnow
from tests.security.conftest import build_ids, signed_in

# GET routes that show nobody's details (lookup lists, staff, figures, blank forms, files).
NO_PERSON = {
    "admin.index", "admin.list_items", "admin.lists", "admin.response_fields", "admin.teams",
    "admin.users", "admin.edit_user", "admin.new_user",  # staff accounts, not callers
    "admin.settings",  # service name, consent statement, who can help with sign-in
    "telephony.settings",  # the phone system's endpoint and addresses
    "auth.login", "callbacks.defaults",
    # the signed-in user's own account and sign-in steps; failed sign-ins (staff accounts)
    "auth.account", "auth.change_password", "auth.confirm_password",
    "auth.restore",  # the user's own unsaved typing, shown once to them
    "auth.failures", "auth.keep_alive",
    "auth.new_recovery_codes", "auth.password_required", "auth.two_factor",
    "auth.two_factor_own", "auth.two_factor_setup", "cases.referral_extra", "cases.referral_row",
    "cases.signpost_row", "contacts.postcode_lookup", "interactions.handler_chip",
    "interactions.handler_list", "interactions.handler_search",  # staff picker
    "knowledge.article", "knowledge.directory", "knowledge.directory_admin", "knowledge.edit",
    "knowledge.index", "knowledge.local_teams",  # local teams: mailboxes and regions
    "review.referral_confirm",  # the team's link: a case reference and response type, no one
    "main.healthz", "main.readyz", "admin.system", "metrics", "requests.new",
    "requests.paper",
    "review.export", "review.export_status", "review.exports", "review.download",
    "static", "supervisor.calls", "supervisor.dashboard", "supervisor.dashboard_csv",
    # the signed-in user's own inbox and event stream: left out (see the report on issue 13)
    "notifications.index", "notifications.stream",
    # training site only (a 404 on the live site): the made-up practice callers
    "training.scenarios",
}


@pytest.fixture
def world(app, smtp):
    """One record of every kind, an admin (who holds every role) owning the queues."""
    ids = build_ids()
    client = signed_in(app, "admin")
    me, now = client.user_id, utcnow()
    cb = db.session.get(CallBack, ids["cb_id"])
    cb.owner_id, cb.reminder_state = me, SHOWING            # My call backs, the pop-up
    case = db.session.get(Case, ids["case_id"])
    case.review_state = "Ready for review"
    case.assignee_id = me                                   # Assigned to me
    case.referrals[0].status = "Awaiting a local team"  # on the data team's waiting list
    overdue = cb_services.create(case, cb_services.CallBackInput(
        "07700 900123", "Overdue", now, None, True, now + timedelta(hours=1),
        now + timedelta(hours=2), False, True, "me"), db.session.get(User, me))
    overdue.owner_id, overdue.team_id = None, ids["team_id"]  # team queue, past its End
    overdue.start_at, overdue.end_at = now - timedelta(hours=2), now - timedelta(minutes=1)
    overdue.escalated_at = now                                # and in the Morning Review
    calls = CallBackRequest(full_name="Awaiting Calls", contact_number="07700 900124",
                            nature="Other", anytime=True, status="Awaiting Calls",
                            caseworker_id=me)
    done = CallBackRequest(full_name="Closed Caller", contact_number="07700 900125",
                           nature="Other", anytime=True, status="Completed", closed_at=now)
    letters = CallBackRequest(full_name="Downtime Caller", contact_number="07700 900126",
                              nature="New Application", anytime=True, status="Unsuccessful",
                              downtime=True, closed_at=now, caseworker_id=me)
    db.session.add_all([calls, done, letters])
    db.session.flush()
    import io

    from helpline.callback_requests.attachments import attach
    attach(letters, "form.png", io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64),
           db.session.get(User, me), app.config["ATTACHMENT_DIR"])
    db.session.get(OutboxMail, ids["mail_id"]).status = "failed"
    db.session.commit()
    msg = EmailMessage()
    msg["From"], msg["To"] = "helpline@localhost", "leader@example.org"
    msg["Subject"] = "MP call-back request: Robert Livingstone"
    msg.set_content("Please call Robert Livingstone on 07700 900123.")
    with smtplib.SMTP("127.0.0.1", smtp["port"]) as s:
        s.send_message(msg)
    key = read_messages(smtp["dir"])[0]["key"]
    case_ref = case.reference
    interaction = db.session.get(Interaction, ids["interaction_id"])
    # a call ringing for me from the contact's number (the screen-pop panel)
    db.session.add(Call(call_ref="world-ring", number="07700900123", started_at=now,
                        ringing=[db.session.get(User, me)],
                        contacts=[db.session.get(Contact, ids["contact_id"])]))
    # Interactions assigned to me
    db.session.add(InteractionHandler(interaction_id=interaction.id, user_id=me,
                                      assigned_by_id=ids["user_id"]))
    db.session.commit()
    return {**ids, "client": client, "me": me, "key": key, "case_ref": case_ref,
            "interaction_ref": interaction.reference, "overdue_id": overdue.id,
            "calls_id": calls.id, "done_id": done.id, "letters_id": letters.id}


def reads(w: dict) -> list[tuple[str, str, str, str]]:
    """(endpoint, url, record type, record id) for every read that must be logged."""
    c, case, ref, req = w["contact_id"], w["case_id"], w["case_ref"], w["request_id"]
    return [
        ("contacts.index", "/?q=Living", "contact", str(c)),
        ("contacts.index", "/", "contact", str(c)),
        ("contacts.show", f"/contacts/{c}", "contact", str(c)),
        ("contacts.edit", f"/contacts/{c}/edit", "contact", str(c)),
        ("contacts.duplicates", "/contacts/duplicates?first_name=Robert&last_name=Livingstone",
         "contact", str(c)),
        ("contacts.merge", f"/contacts/{c}/merge", "contact", str(c)),
        ("contacts.new", f"/contacts/new?from_request={req}", "call-back request", str(req)),
        ("cases.show", f"/cases/{case}", "case", ref),
        ("cases.queue", "/cases/queues/assigned", "case", ref),
        ("cases.new", f"/cases/new/{c}", "contact", str(c)),
        ("cases.quick_create", f"/cases/quick-create/{c}", "contact", str(c)),
        ("cases.beneficiary_search", "/cases/beneficiaries?beneficiary_q=Living&caller=0",
         "contact", str(c)),
        ("cases.beneficiary_pick", f"/cases/beneficiaries/{c}", "contact", str(c)),
        ("interactions.show", f"/interactions/{w['interaction_id']}", "interaction",
         w["interaction_ref"]),
        ("interactions.new", f"/interactions/new?contact_id={c}", "contact", str(c)),
        ("interactions.mine", "/interactions/mine", "interaction", w["interaction_ref"]),
        ("interactions.enquirer_search", "/interactions/enquirers?enquirer_q=Living",
         "contact", str(c)),
        ("interactions.case_search", "/interactions/cases?case_ref=Living", "case", ref),
        ("callbacks.show", f"/callbacks/{w['cb_id']}", "call back", str(w["cb_id"])),
        ("callbacks.new", f"/callbacks/new/{case}", "contact", str(c)),
        ("callbacks.mine", "/callbacks/", "call back", str(w["cb_id"])),
        ("callbacks.reminders", "/callbacks/reminders", "call back", str(w["cb_id"])),
        ("callbacks.team", f"/callbacks/team/{w['team_id']}", "call back", str(w["overdue_id"])),
        ("callbacks.overdue", "/callbacks/overdue", "call back", str(w["overdue_id"])),
        ("requests.show", f"/callback-requests/{req}", "call-back request", str(req)),
        ("requests.awaiting_allocation", "/callback-requests/", "call-back request", str(req)),
        ("requests.awaiting_calls", "/callback-requests/mine", "call-back request",
         str(w["calls_id"])),
        ("requests.closed", "/callback-requests/closed", "call-back request", str(w["done_id"])),
        ("requests.letters", f"/callback-requests/{w['letters_id']}/letters",
         "call-back request letters", str(w["letters_id"])),
        ("requests.paper_form", f"/callback-requests/{w['letters_id']}/paper-form",
         "call-back request paper form", str(w["letters_id"])),
        ("requests.unique_new", f"/callback-requests/unique/new/{case}", "case", ref),
        ("review.queue", "/review/", "case", ref),
        ("review.case", f"/review/cases/{case}", "case", ref),
        ("review.referrals_waiting", "/review/referrals/waiting", "case", ref),
        ("review.anonymise", f"/review/anonymise/{c}", "contact", str(c)),
        ("review.subject_access", f"/review/subject-access/{c}", "contact", str(c)),
        ("admin.sent_mail", "/admin/mail", "caught mail", w["key"]),
        ("admin.sent_mail", "/admin/mail", "mail", str(w["mail_id"])),
        ("admin.show_mail", f"/admin/mail/{w['key']}", "caught mail", w["key"]),
        ("admin.failed_jobs", "/admin/jobs/failed", "mail", str(w["mail_id"])),
        ("supervisor.audit_trail", "/supervisor/audit", "audit", f"contact {c}"),
        ("telephony.panel", "/telephony/panel", "contact", str(c)),
        ("telephony.missed", "/telephony/missed", "call", str(w["call_id"])),
        ("supervisor.morning_review", "/supervisor/", "morning review",
         f"callback:{w['overdue_id']}:overdue"),
    ]


def _views_since(after_id: int, actor_id: int, record_type: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.id > after_id, AuditEntry.actor_id == actor_id, AuditEntry.action == "view",
        AuditEntry.record_type == record_type)))


def _names(entry: AuditEntry, record_id: str) -> bool:
    """The entry is about that record, or is a list entry naming it among those shown."""
    return entry.record_id == record_id or record_id in (entry.after or "").split(", ")


def test_every_read_of_a_person_is_logged_with_who_and_what(app, world):
    client, me = world["client"], world["me"]
    missing = []
    for endpoint, url, record_type, record_id in reads(world):
        before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
        resp = client.get(url)
        assert resp.status_code == 200, f"{url}: {resp.status_code}"
        if not any(_names(e, record_id) for e in _views_since(before, me, record_type)):
            missing.append(f"{endpoint} {url}: no view of {record_type} {record_id}")
    assert missing == []


def test_htmx_fragments_are_logged_too(app, world):
    client, me, c = world["client"], world["me"], str(world["contact_id"])
    for url in ("/?q=Living", "/cases/beneficiaries?beneficiary_q=Living&caller=0",
                "/interactions/enquirers?enquirer_q=Living"):
        before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
        resp = client.get(url, headers={"HX-Request": "true"})
        assert resp.status_code == 200 and "Livingstone" in resp.get_data(as_text=True)
        assert [e.after for e in _views_since(before, me, "contact")] == [c], url


def test_a_list_is_one_entry_naming_the_records_shown_and_no_search_terms(app, world):
    client, me = world["client"], world["me"]
    before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    client.get("/callback-requests/closed")
    entries = _views_since(before, me, "call-back request")
    assert len(entries) == 1
    assert (entries[0].record_id, entries[0].field, entries[0].after) == (
        "list", "Shown", f"{world['done_id']}, {world['letters_id']}")
    before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    client.get("/?q=Livingst")
    entries = _views_since(before, me, "contact")
    assert len(entries) == 1 and "Livingst" not in repr(
        [(e.field, e.before, e.after, e.reason) for e in entries])


def test_a_search_that_shows_nobody_logs_nothing(app, world):
    client, me = world["client"], world["me"]
    before = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    client.get("/?q=Nobodyatall", headers={"HX-Request": "true"})
    assert _views_since(before, me, "contact") == []


def test_every_get_route_is_classified(app, world):
    gets = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods}
    covered = {endpoint for endpoint, *_ in reads(world)}
    assert gets - covered - NO_PERSON == set(), "decide: does this page show a person?"
    assert covered & NO_PERSON == set()
