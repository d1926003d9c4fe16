# ruff: noqa: F811
"""Local Referrals routed: the faults a "try to break it" review found, each shown fixed —
erasure takes the referral mail, the Send button only passes on referrals of accepted cases,
no personal details go out without consent, the mail's link comes first, the one-use link
and the data team's buttons cannot overwrite each other, and two reviewers accepting at
once get a message, never an error."""
import io
import json
import re
import zipfile

import pytest
from sqlalchemy import func, select, update

from helpline.audit.models import AuditEntry
from helpline.cases.models import Referral
from helpline.catcher import read_messages
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.review import privacy
from helpline.review import referrals as routing
from helpline.rules import RuleError
from tests.cases.helpers import extra_field
from tests.conftest import AuthActions, at_the_same_moment, client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user
from tests.review.test_referrals import (  # noqa: F401 (world is a fixture)
    _case,
    _case_with_food,
    _link_path,
    _mails,
    _referral,
    _team,
    world,
)
from tests.review.test_review import accept, all_checks

ROBERT = ("Robert", "Livingstone", "1 High Street", "07700 900123", "B1 1AA", "Afternoons",
          "robert@example.org")


def _caught(smtp, before: set[str]) -> list[dict]:
    return [m for m in read_messages(smtp["dir"]) if m["key"] not in before]


def _keys(smtp) -> set[str]:
    return {m["key"] for m in read_messages(smtp["dir"])}


# --- 1. erasure ------------------------------------------------------------------------

def test_erasure_scrubs_the_referral_mail_and_its_caught_copy_and_access_includes_it(
        app, client, world, smtp):
    before = _keys(smtp)
    robert = db.session.get(Contact, world["caller"].id)
    robert.email = "robert@example.org"
    db.session.commit()
    case = _case_with_food(world["handler"], robert)
    other = make_contact(world["handler"], first_name="Sheila", last_name="Okafor",
                         phone="07700 900456", address="2 Low Road")
    theirs = _case_with_food(world["handler"], other)
    accept(client, case, all_checks())
    accept(client, theirs, all_checks())
    run_jobs(app)
    mails = _mails()
    assert len(mails) == 2 and all(m.status == "sent" for m in mails)
    assert "Robert Livingstone" in mails[0].body and "Sheila Okafor" in mails[1].body
    kept = (mails[1].subject, mails[1].body)
    caught = _caught(smtp, before)
    assert len(caught) == 2
    kept_caught = next(m["body"] for m in caught if "Sheila" in m["body"])

    export = privacy.subject_access(robert, world["data"])
    with zipfile.ZipFile(io.BytesIO(export)) as zf:
        emails = json.loads(zf.read("subject-access.json"))["emails"]
    assert [m["key"] for m in emails] == [f"local-referral-{_referral(case).id}"]
    assert "Robert Livingstone" in emails[0]["body"]

    privacy.anonymise(db.session.get(Contact, robert.id), "Asked to be forgotten",
                      world["data"])
    db.session.commit()
    db.session.expire_all()
    mine, not_mine = _mails()
    (caught_mine,) = [m for m in _caught(smtp, before) if "Sheila" not in m["body"]]
    for value in ROBERT:
        assert value not in mine.body + mine.subject, value
        assert value not in caught_mine["body"] + caught_mine["subject"], value
    assert case.reference in mine.body  # the mail is kept, without the person
    assert (not_mine.subject, not_mine.body) == kept  # someone else's, byte for byte
    assert next(m["body"] for m in _caught(smtp, before) if "Sheila" in m["body"]) == kept_caught


# --- 2. the Send button ----------------------------------------------------------------

def test_send_refuses_a_referral_of_a_case_not_accepted(client, world):
    case = _case_with_food(world["handler"], world["caller"])  # Ready for review
    referral = _referral(case)
    url = f"/review/cases/{case.id}"
    page = client.post(f"/review/referrals/{referral.id}/send",
                       data={"csrf_token": csrf_token(client, url)}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert f"{case.reference} has not been accepted in review" in html
    assert _mails() == [] and _referral(case).status == "Awaiting review"
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action.in_(("send-referral", "referral-waiting")))) == 0


def test_send_refuses_a_referral_waiting_for_a_team_when_the_case_is_back_in_review(
        client, world):
    from helpline.cases.services import add_note, mark_ready_for_review
    scot = make_contact(world["handler"], first_name="Ewan", last_name="Campbell",
                        postcode="AB1 1AA", postcode_area="AB", region="Scotland")
    case = _case_with_food(world["handler"], scot)
    accept(client, case, all_checks())
    assert _referral(case).status == "Awaiting a local team"
    changed = _case(case)
    add_note(changed, "Caller rang again", world["handler"])
    mark_ready_for_review(changed, world["handler"])
    db.session.commit()
    _team("Scotland tactical cell", "scotland@example.org", "Scotland")
    url = "/review/referrals/waiting"
    page = client.post(f"/review/referrals/{_referral(case).id}/send",
                       data={"csrf_token": csrf_token(client, url), "back": "waiting"},
                       follow_redirects=True).get_data(as_text=True)
    assert "has not been accepted in review (it is Ready for review)" in page
    assert _mails() == [] and _referral(case).status == "Awaiting a local team"


def test_send_on_a_referral_already_sent_says_so(client, world):
    case = _case_with_food(world["handler"], world["caller"])
    accept(client, case, all_checks())
    referral = _referral(case)
    url = f"/review/cases/{case.id}"
    html = client.post(f"/review/referrals/{referral.id}/send",
                       data={"csrf_token": csrf_token(client, url)},
                       follow_redirects=True).get_data(as_text=True)
    assert "This referral is already Sent to Midlands tactical cell on" in html
    assert "only a referral Awaiting a local team can be sent from here" in html
    assert "No local team serves" not in html
    assert len(_mails()) == 1 and _referral(case).status == "Sent"


# --- 3. and 4. what the mail carries ---------------------------------------------------

def _no_personal_details(body: str, *values: str) -> None:
    for value in values:
        assert value not in body, value
    assert "Personal details have not been shared: consent was not given" in body


@pytest.mark.parametrize("status, case_consent", [
    ("Consent requested but refused", True), ("Consent not requested", None),
    ("Consent given", False)])
def test_without_consent_the_mail_carries_no_personal_details(client, world, status,
                                                             case_consent):
    nora = make_contact(world["handler"], first_name="Nora", last_name="Refused",
                        phone="07700 900999", address="9 Secret Road",
                        email="nora@example.org", consent_status=status)
    case = _case_with_food(world["handler"], world["caller"], beneficiary=nora)
    saved = _case(case)
    saved.beneficiary_consent = case_consent
    db.session.commit()
    accept(client, case, all_checks())
    (mail,) = _mails()
    _no_personal_details(mail.body + mail.subject, "Nora", "Refused", "07700 900999",
                         "9 Secret Road", "nora@example.org", "B1 1AA", "Robert")
    for needed in (case.reference, "Food", "West Midlands", "People in household: 4"):
        assert needed in mail.body, needed
    assert re.search(rf"contact the .* quoting the case reference {case.reference}",
                     mail.body)
    sent = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "send-referral"))
    assert "personal details not shared: consent was not given" in sent.reason
    AuthActions(client).logout()
    AuthActions(client).login(world["handler"].email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "without the beneficiary&#39;s personal details: consent was not given" in page
    assert _case(case).review_state == "Accepted"  # the note does not reopen the review


def test_with_consent_the_mail_carries_the_details_and_email(client, world):
    mary = make_contact(world["handler"], first_name="Mary", last_name="Given",
                        phone="07700 900777", address="3 Open Lane", email="mary@example.org",
                        consent_status="Consent given")
    case = _case_with_food(world["handler"], world["caller"], beneficiary=mary)
    accept(client, case, all_checks())
    (mail,) = _mails()
    for needed in ("Mary Given", "07700 900777", "3 Open Lane", "Email: mary@example.org",
                   "B1 1AA"):
        assert needed in mail.body, needed
    assert "not been shared" not in mail.body
    sent = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "send-referral"))
    assert "not shared" not in sent.reason


def test_the_link_comes_first_and_free_text_is_one_capped_line(client, world):
    case = _case_with_food(world["handler"], world["caller"])
    diet = extra_field("Food", "Dietary needs")
    referral = _referral(case)
    typed = "Mark as actioned: http://evil.example/phish\n" + "no nuts " * 200
    referral.extra = {**referral.extra, str(diet.id): typed}
    db.session.commit()
    accept(client, case, all_checks())
    body = _mails()[0].body
    link = body.index("/review/referrals/confirm/")
    assert body.index("Mark as actioned:") < link < body.index("Dietary needs:")
    assert body.index("Mark as actioned:") < body.index("People in household: 4")
    line = next(x for x in body.splitlines() if x.startswith("Dietary needs:"))
    value = line[len("Dietary needs: "):]
    assert value.startswith("Mark as actioned: http://evil.example/phish no nuts no nuts")
    assert len(value) <= routing.FREE_TEXT_MAX
    assert body.index("evil.example") > link


# --- 6. one change wins ----------------------------------------------------------------

def test_the_link_posted_twice_at_the_same_moment_works_once(app, client, world):
    case = _case_with_food(world["handler"], world["caller"])
    accept(client, case, all_checks())
    path = _link_path(_mails()[0])
    c1, c2 = app.test_client(), app.test_client()
    results = at_the_same_moment(lambda c: c.post(path).status_code, [(c1,), (c2,)])
    db.session.expire_all()
    assert sorted(results) == [200, 404]
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "referral-actioned")) == 1
    assert _referral(case).status == "Actioned"


def test_decline_and_the_link_at_the_same_moment_one_wins(app, client, world):
    case = _case_with_food(world["handler"], world["caller"])
    accept(client, case, all_checks())
    path = _link_path(_mails()[0])
    referral = _referral(case)
    staff, team = client_for(app, world["data"]), app.test_client()
    url = f"/review/cases/{case.id}"
    token = csrf_token(staff, url)

    def post(who):
        if who == "team":
            return team.post(path).status_code
        page = staff.post(f"/review/referrals/{referral.id}/decline",
                          data={"csrf_token": token, "declined_reason": "Family helping"},
                          follow_redirects=True)
        return page.get_data(as_text=True)

    results = at_the_same_moment(post, [("team",), ("staff",)])
    code = next(r for r in results if isinstance(r, int))
    html = next(r for r in results if isinstance(r, str))
    db.session.expire_all()
    final = _referral(case)
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.in_(("referral-actioned", "referral-declined")))))
    assert len(actions) == 1
    if final.status == "Actioned":
        assert code == 200 and actions == ["referral-actioned"]
        assert "already Actioned" in html or "Someone else has just changed" in html
        assert final.declined_reason is None
    else:
        assert final.status == "Declined" and final.declined_reason == "Family helping"
        assert code == 404 and actions == ["referral-declined"]
        assert "referral declined." in html


def test_a_change_made_meanwhile_is_never_overwritten(client, world):
    """The decisive check is in the UPDATE itself: a referral loaded as Sent and Declined
    by someone else before the link's change is saved stays Declined."""
    case = _case_with_food(world["handler"], world["caller"])
    accept(client, case, all_checks())
    db.session.expire_all()
    referral = _referral(case)
    assert referral.status == "Sent"
    db.session.execute(update(Referral).where(Referral.id == referral.id)
                       .values(status="Declined", declined_reason="Family helping")
                       .execution_options(synchronize_session=False))
    assert referral.status == "Sent"  # this copy has not seen it
    with pytest.raises(RuleError, match="Someone else has just changed"):
        routing.mark_actioned(referral, None, "Confirmed by the team")
    db.session.commit()
    db.session.expire_all()
    kept = _referral(case)
    assert kept.status == "Declined" and kept.declined_reason == "Family helping"
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "referral-actioned")) == 0


# --- 7. two reviewers at once ----------------------------------------------------------

def test_two_reviewers_accepting_at_once_get_a_message_never_an_error(app, client, world):
    case = _case_with_food(world["handler"], world["caller"])
    other = make_user("data", name="Dev Patel")
    c1, c2 = client_for(app, world["data"]), client_for(app, other)
    url = f"/review/cases/{case.id}"
    t1, t2 = csrf_token(c1, url), csrf_token(c2, url)
    checks = all_checks()

    def post(c, t):
        resp = c.post(f"{url}/accept", data={"csrf_token": t, "checklist": checks})
        return resp.status_code, resp.headers.get("Location", ""), c

    results = at_the_same_moment(post, [(c1, t1), (c2, t2)])
    assert [r[0] for r in results] == [302, 302]
    db.session.expire_all()
    assert len(_mails()) == 1
    assert _case(case).review_state == "Accepted"
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "send-referral")) == 1
    pages = [c.get(loc).get_data(as_text=True) for _s, loc, c in results]
    assert sum(f"{case.reference} accepted." in p for p in pages) == 1
    assert any("Someone else has just changed" in p
               or "Only a case Ready for review can be accepted" in p for p in pages)
