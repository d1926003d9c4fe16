"""Local Referrals routed (issue 15): accepting a case mails each referral once to the local
team serving the beneficiary's region; no team → Awaiting a local team, shown to the data
team; Actioned by the data team or through the team's signed one-use link."""
import re

import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.cases.models import Case, Referral
from helpline.cases.rows import ReferralRow
from helpline.cases.services import CaseInput, add_note, mark_ready_for_review, save_case
from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.knowledge.models import LocalTeam, LocalTeamRegion
from helpline.mailer import OutboxMail
from helpline.timeutil import london_format, utcnow
from tests.cases.helpers import extra_field, item, seed_lists
from tests.conftest import AuthActions, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user
from tests.review.test_review import accept, all_checks


def _team(name: str, mailbox: str, *regions: str) -> LocalTeam:
    team = LocalTeam(name=name, mailbox=mailbox,
                     regions=[LocalTeamRegion(region=r) for r in regions])
    db.session.add(team)
    db.session.commit()
    return team


def _case_with_food(handler, caller, beneficiary=None, people: str = "4") -> Case:
    """A case Ready for review with a Food referral, a safeguarding reason and a note."""
    people_field = extra_field("Food", "People in household")
    data = CaseInput(
        title="Food parcel needed",
        who_requires_support="Someone Else" if beneficiary else "The person who called",
        beneficiary_id=beneficiary.id if beneficiary else None,
        beneficiary_consent=True if beneficiary else None, psychosocial_support=False,
        safeguarding_activated=True, safeguarding_reason="Neighbour worried about neglect",
        feedback_consent=True, ready_for_review=True,
        note="Daughter is away until next month; SECRET HISTORY", signposts=[],
        referrals=[ReferralRow(0, response_type_id=item("local_response_type", "Food").id,
                               extra={people_field.id: people} if people else {})])
    case = save_case(None, caller, data, handler)
    db.session.commit()
    return case


@pytest.fixture
def world(app, client, auth):
    seed_lists()
    handler = make_user("volunteer", name="Angie Greenaway-Samuel")
    data = make_user("data", name="Maggie Evans")
    caller = make_contact(handler, first_name="Robert", last_name="Livingstone",
                          phone="07700 900123", address="1 High Street",
                          preferred_contact_time="Afternoons")
    midlands = _team("Midlands tactical cell", "midlands@example.org", "West Midlands",
                     "East Midlands")
    _team("London tactical cell", "london@example.org", "London")
    auth.login(data.email)
    return {"handler": handler, "data": data, "caller": caller, "midlands": midlands}


def _referral(case) -> Referral:
    db.session.expire_all()
    return db.session.scalar(select(Referral).where(Referral.case_id == case.id))


def _mails() -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_accepting_mails_the_beneficiarys_local_team_once(app, client, world, smtp):
    case = _case_with_food(world["handler"], world["caller"])
    assert _referral(case).status == "Awaiting review"
    assert _mails() == []  # nothing goes out before the review

    accept(client, case, all_checks())
    accept(client, case, all_checks())  # a second click: refused, nothing more is sent
    # changed after review and accepted again: the referral already sent is not re-sent
    case = _case(case)
    add_note(case, "Caller rang again", world["handler"])
    mark_ready_for_review(case, world["handler"])
    db.session.commit()
    again = accept(client, case, all_checks()).get_data(as_text=True)
    assert f"{case.reference} accepted." in again

    mails = _mails()
    assert len(mails) == 1 and mails[0].to == "midlands@example.org"
    run_jobs(app)
    caught = [m for m in read_messages(smtp["dir"]) if m["to"] == "midlands@example.org"]
    assert len(caught) == 1
    body = caught[0]["body"]
    for needed in (case.reference, "Food", "People in household: 4", "Robert Livingstone",
                   "1 High Street", "B1 1AA", "07700 900123", "Afternoons"):
        assert needed in body, needed
    for private in ("Neighbour worried", "SECRET HISTORY", "Daughter is away"):
        assert private not in body  # no safeguarding or summary notes

    referral = _referral(case)
    today = london_format(utcnow(), "%d/%m/%Y")
    label = f"Sent to Midlands tactical cell on {today}"
    assert referral.status == "Sent" and referral.status_label == label
    assert referral.local_team_id == world["midlands"].id
    AuthActions(client).logout()
    AuthActions(client).login(world["handler"].email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert label in page
    sent = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "send-referral"))
    assert sent.record_id == case.reference and sent.after == label
    assert sent.actor_id == world["data"].id and "midlands@example.org" in sent.reason


def test_the_referral_goes_to_the_beneficiarys_region_not_the_callers(client, world):
    beneficiary = make_contact(world["handler"], first_name="Mary", last_name="Livingstone",
                               postcode="E1 6AN", postcode_area="E", region="London")
    case = _case_with_food(world["handler"], world["caller"], beneficiary=beneficiary)
    accept(client, case, all_checks())
    assert [m.to for m in _mails()] == ["london@example.org"]
    assert "Mary Livingstone" in _mails()[0].body
    assert "Robert" not in _mails()[0].body


def test_the_food_extra_fields_may_be_left_empty_and_the_case_saves(client, world):
    AuthActions(client).logout()
    AuthActions(client).login(make_user("supervisor").email)  # passes verification
    caller = world["caller"]
    url = f"/cases/new/{caller.id}"
    food = item("local_response_type", "Food")
    form = {"title": "Food parcel needed", "who_requires_support": "The person who called",
            "psychosocial_support": "no", "safeguarding_activated": "no", "feedback_consent": "yes",
            "ready_for_review": "yes", "note": "", "submit": "Save",
            "referrals-0-type": food.id, "csrf_token": csrf_token(client, url)}
    resp = client.post(url, data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    case = db.session.scalar(select(Case))
    assert [(r.response_type.name, r.extra, r.status) for r in case.referrals] == [
        ("Food", {}, "Awaiting review")]


def test_a_region_with_no_team_waits_and_the_data_team_sees_it(client, world):
    scot = make_contact(world["handler"], first_name="Ewan", last_name="Campbell",
                        postcode="AB1 1AA", postcode_area="AB", region="Scotland")
    case = _case_with_food(world["handler"], scot)
    accept(client, case, all_checks())
    referral = _referral(case)
    assert referral.status == "Awaiting a local team" and _mails() == []
    queue = client.get("/review/").get_data(as_text=True)
    assert "<strong>1</strong> referral awaiting a local team" in queue
    waiting = client.get("/review/referrals/waiting").get_data(as_text=True)
    assert case.reference in waiting and "Scotland" in waiting
    AuthActions(client).logout()
    AuthActions(client).login(world["handler"].email)
    assert "Awaiting a local team" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    # a team for Scotland is added; the data team sends it from the list
    AuthActions(client).logout()
    AuthActions(client).login(world["data"].email)
    _team("Scotland tactical cell", "scotland@example.org", "Scotland")
    url = "/review/referrals/waiting"
    client.post(f"/review/referrals/{referral.id}/send",
                data={"csrf_token": csrf_token(client, url), "back": "waiting"})
    assert _referral(case).status == "Sent"
    assert [m.to for m in _mails()] == ["scotland@example.org"]
    assert "No referral is waiting" in client.get(url).get_data(as_text=True)


def _link_path(mail: OutboxMail) -> str:
    link = re.search(r"https?://\S+/review/referrals/confirm/\S+", mail.body).group(0)
    return link[link.index("/review/"):]


def test_the_signed_link_marks_actioned_once_and_a_bad_token_is_404(app, world):
    case = _case_with_food(world["handler"], world["caller"])
    team_client = app.test_client()
    staff = app.test_client()
    AuthActions(staff).login(world["data"].email)
    accept(staff, case, all_checks())
    path = _link_path(_mails()[0])

    page = team_client.get(path)  # no sign-in
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Mark as actioned" in html and case.reference in html
    assert "Robert" not in html  # the page names no one
    assert _referral(case).status == "Sent"  # a GET changes nothing

    audits = db.session.scalar(select(func.count(AuditEntry.id)))
    bad = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert team_client.post(bad).status_code == 404
    assert team_client.get("/review/referrals/confirm/not-a-token").status_code == 404
    assert _referral(case).status == "Sent"
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audits

    done = team_client.post(path)  # no CSRF token, no session: the token is the credential
    assert done.status_code == 200 and "Local Referral actioned" in done.get_data(as_text=True)
    referral = _referral(case)
    assert referral.status == "Actioned" and referral.actioned_by_id is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "referral-actioned"))
    assert entry.record_id == case.reference and "Midlands tactical cell" in entry.reason

    audits = db.session.scalar(select(func.count(AuditEntry.id)))
    assert team_client.post(path).status_code == 404  # used: once only
    assert team_client.get(path).status_code == 404
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audits


def test_the_data_team_marks_actioned_or_declines_with_a_reason(client, world):
    case = _case_with_food(world["handler"], world["caller"])
    accept(client, case, all_checks())
    referral = _referral(case)
    url = f"/review/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Sent to Midlands tactical cell on" in page and "Mark actioned" in page
    no_reason = client.post(f"/review/referrals/{referral.id}/decline",
                            data={"csrf_token": csrf_token(client, url), "declined_reason": ""},
                            follow_redirects=True)
    assert "Enter why the referral was declined" in no_reason.get_data(as_text=True)
    assert _referral(case).status == "Sent"
    client.post(f"/review/referrals/{referral.id}/actioned",
                data={"csrf_token": csrf_token(client, url)})
    referral = _referral(case)
    assert referral.status == "Actioned" and referral.actioned_by_id == world["data"].id
    assert "Actioned on" in client.get(url).get_data(as_text=True)
    refused = client.post(f"/review/referrals/{referral.id}/decline",
                          data={"csrf_token": csrf_token(client, url),
                                "declined_reason": "Too late"}, follow_redirects=True)
    assert "already Actioned" in refused.get_data(as_text=True)
    assert _referral(case).status == "Actioned"


def test_volunteers_cannot_use_the_data_team_buttons(app, world):
    case = _case_with_food(world["handler"], world["caller"])
    other = app.test_client()
    AuthActions(other).login(world["handler"].email)
    referral = _referral(case)
    token = csrf_token(other, f"/cases/{case.id}")
    for action in ("actioned", "send", "decline"):
        resp = other.post(f"/review/referrals/{referral.id}/{action}",
                          data={"csrf_token": token, "declined_reason": "x"})
        assert resp.status_code == 403
    assert other.get("/review/referrals/waiting").status_code == 403
    assert _referral(case).status == "Awaiting review"


def test_a_sent_referral_is_kept_as_sent_when_the_case_is_saved_again(client, world):
    case = _case_with_food(world["handler"], world["caller"])
    accept(client, case, all_checks())
    AuthActions(client).logout()
    AuthActions(client).login(world["handler"].email)
    referral = _referral(case)
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    assert f'name="referrals-0-type"' not in page  # shown as sent, not edited
    people = extra_field("Food", "People in household")
    form = {"title": "Food parcel needed", "who_requires_support": "The person who called",
            "psychosocial_support": "no", "safeguarding_activated": "no",
            "feedback_consent": "yes", "ready_for_review": "no", "note": "", "submit": "Save",
            "csrf_token": csrf_token(client, url), "version": str(_case(case).version)}
    # a post that drops the row, then one that changes it: the referral stays as sent
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data={**form, "csrf_token": csrf_token(client, url),
                                  "version": str(_case(case).version),
                                  "referrals-0-id": referral.id,
                                  f"referrals-0-x-{people.id}": "9"}).status_code == 302
    kept = _referral(case)
    assert kept.id == referral.id and kept.status == "Sent" and kept.extra == {str(people.id): "4"}


def _case(case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)
