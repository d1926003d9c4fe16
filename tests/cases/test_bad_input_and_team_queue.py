"""Issue 15's "try to break it" review: a Unicode digit ("²": str.isdigit() is true, int()
refuses it) or a number too big for the database, an out-of-range date or page, gave a 500;
each is now a message at its field (or is clamped). The team queue's open access ends when
someone takes the case on, and a case is assigned or handed over only to people who handle
cases."""
import re

from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.auth.models import Team
from helpline.cases.drafts import CaseDraft
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.extensions import db
from tests.cases.helpers import case_form, extra_field
from tests.cases.test_desk_object_checks import _post, _state, _verified, _world
from tests.cases.test_drafts import HX, setup, typed  # noqa: F401 (the fixture)
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user

NOT_INTS = ("²", "9" * 30)


def _error_at(page: str, field: str, message: str, error_id: str = "{}-error") -> None:
    """The message in the error summary (linking to the field) and at the field."""
    assert "<title>Error: " in page
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert f'href="#{field}"' in summary and message in summary
    at_field = re.findall(rf'<p[^>]*id="{error_id.format(field)}"[^>]*>(.*?)</p>', page, re.S)
    assert any(message in text for text in at_field), at_field


def test_a_unicode_digit_as_the_drafts_beneficiary_keeps_the_draft(client, setup):
    caller = setup["caller"]
    for bad in NOT_INTS:
        resp = client.post(f"/cases/drafts/new/{caller.id}", headers=HX, data={
            **typed(who_requires_support="Someone Else", beneficiary_id=bad),
            "csrf_token": csrf_token(client, f"/cases/new/{caller.id}")})
        assert resp.status_code == 200
        db.session.expire_all()
        [draft] = db.session.scalars(select(CaseDraft)).all()
        assert draft.beneficiary_id is None  # names no one
        assert "Food for the weekend" in draft.fields


def test_a_unicode_digit_in_the_case_screen_is_a_field_message(client, setup):
    caller = setup["caller"]
    new = f"/cases/new/{caller.id}"
    journey = extra_field("Transport", "Journey").id
    for bad in NOT_INTS:
        resp = client.post(new, data={
            **case_form(who_requires_support="Someone Else", beneficiary_id=bad,
                        version=bad, **{"referrals-1-type": bad, "referrals-1-x-²": "x",
                                        f"referrals-1-x-{journey}": "Home to GP"}),
            "csrf_token": csrf_token(client, new)})
        assert resp.status_code == 422
        _error_at(resp.get_data(as_text=True), "beneficiary_id",
                  "Choose the beneficiary: search existing contacts or Quick Create one",
                  error_id="{}")
    db.session.expire_all()
    assert db.session.scalars(select(Case)).all() == []


def test_a_unicode_digit_as_the_new_owner_or_assignee_is_a_field_message(app):
    owner, angie, other, leader, case = _world(app)
    lc = client_for(app, leader)
    before = _state(case.id)
    for bad in NOT_INTS:
        resp = _post(lc, case, "owner", owner=bad)
        assert resp.status_code == 422
        _error_at(resp.get_data(as_text=True), "owner", "Choose the new owner")
        for value in (f"user-{bad}", f"team-{bad}"):
            resp = _post(lc, case, "assign", assignee=value)
            assert resp.status_code == 422
            _error_at(resp.get_data(as_text=True), "assignee",
                      "Choose a handler or a team to assign the case to")
    # the refused page is the saved case, not blanked by the desk form's post
    assert 'value="Laptop will not start"' in resp.get_data(as_text=True)
    assert _state(case.id) == before
    assert _post(lc, case, "owner", owner=str(angie.id)).status_code == 302
    assert _state(case.id)[1] == angie.id


def test_cases_are_assigned_and_handed_over_only_to_people_who_handle_cases(app):
    owner, angie, other, leader, case = _world(app)
    admin = make_user("admin", name="Ada Admin")
    gone = make_user("volunteer", name="Ivan Inactive", active=False)
    lc = client_for(app, leader)
    page = lc.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'value="user-{angie.id}"' in page and f'value="{angie.id}"' in page
    for user in (admin, gone):  # neither offered
        assert f'value="user-{user.id}"' not in page and f'value="{user.id}"' not in page
    before = _state(case.id)
    for user in (admin, gone):
        resp = _post(lc, case, "assign", assignee=f"user-{user.id}")
        assert resp.status_code == 422
        _error_at(resp.get_data(as_text=True), "assignee",
                  f"{user.name} does not handle cases")
        resp = _post(lc, case, "owner", owner=str(user.id))
        assert resp.status_code == 422
        _error_at(resp.get_data(as_text=True), "owner", f"{user.name} does not handle cases")
    assert _state(case.id) == before
    db.session.expire_all()
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(("assign", "change-owner")))).all() == []


def _opens_unverified(app, user, case):
    return client_for(app, user).get(f"/cases/{case.id}")


def _owner_access_reasons(user, case) -> list[str]:
    db.session.expire_all()
    return [e.reason for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.actor_id == user.id, AuditEntry.action == "access-by-owner",
        AuditEntry.record_id == case.reference).order_by(AuditEntry.id))]


def test_the_team_queue_is_open_to_members_only_until_someone_takes_the_case(app):
    owner, angie, other, leader, case = _world(app)
    betty = make_user("volunteer", name="Betty Member", team="Night Shift")
    team = db.session.scalar(select(Team).where(Team.name == "Night Shift"))
    lc = client_for(app, leader)
    assert _post(lc, case, "assign", assignee=f"team-{team.id}").status_code == 302
    # in the team queue: every member picks it up without verifying (logged as such)
    assert _opens_unverified(app, betty, case).status_code == 200
    assert any("team queue of" in r for r in _owner_access_reasons(betty, case))
    ac = client_for(app, angie)
    assert ac.get(f"/cases/{case.id}").status_code == 200
    assert _post(ac, case, "acknowledge").status_code == 302
    assert _state(case.id)[:3] == ("Acknowledged", owner.id, angie.id)
    # Angie's now: Betty verifies like anyone else; Angie opens it as its assignee
    refused = _opens_unverified(app, betty, case)
    assert refused.status_code == 403
    assert "Verify the caller on the contact page" in refused.get_data(as_text=True)
    before = _state(case.id)
    assert _post(client_for(app, betty), case, "resolve", solution="x",
                 cause="y").status_code == 403
    assert _state(case.id) == before
    assert _opens_unverified(app, angie, case).status_code == 200
    assert any(f"assignee of {case.reference}" in r
               for r in _owner_access_reasons(angie, case))


def test_a_team_case_resolved_before_anyone_took_it_leaves_the_team_queue(app):
    owner, angie, other, leader, case = _world(app)
    team = db.session.scalar(select(Team).where(Team.name == "Night Shift"))
    lc = client_for(app, leader)
    assert _post(lc, case, "assign", assignee=f"team-{team.id}").status_code == 302
    assert _opens_unverified(app, angie, case).status_code == 200
    assert _post(lc, case, "resolve", solution="Reset it", cause="Power").status_code == 302
    assert _state(case.id)[0] == "Solved"
    assert _opens_unverified(app, angie, case).status_code == 403
    # having verified, she may look, but the service desk is no longer the team's
    before = _state(case.id)
    refused = _post(_verified(app, angie, case), case, "assign", assignee=f"user-{angie.id}")
    assert refused.status_code == 403
    assert "Only Olive Owner or a supervisor can assign or resolve this case" in \
        refused.get_data(as_text=True)
    assert _state(case.id) == before


def _queue_case():
    user = make_user("volunteer", name="Quinn Queue")
    case = create_case(make_contact(user), "Boiler broken", user)
    db.session.commit()
    return user, case


def test_an_out_of_range_or_unreal_filter_date_is_a_field_message(app):
    user, case = _queue_case()
    c = client_for(app, user)
    resp = c.get("/cases/queues/mine?until=9999-12-31")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    _error_at(page, "until", "Created to must be between 01/01/1900 and 31/12/2999")
    assert case.reference in page  # the date filters nothing
    page = c.get("/cases/queues/mine?since=0001-01-01&until=2026-02-30").get_data(as_text=True)
    _error_at(page, "since", "Created from must be between 01/01/1900 and 31/12/2999")
    _error_at(page, "until", "Created to must be a real date, for example 31/12/2026")
    page = c.get("/cases/queues/mine?since=2000-01-01&until=2999-12-31").get_data(as_text=True)
    assert "<title>Error: " not in page and case.reference in page


def test_a_page_past_the_end_or_too_big_shows_the_last_page(app):
    user, case = _queue_case()
    c = client_for(app, user)
    for page in ("9" * 30, "²", "-3", "4"):
        resp = c.get(f"/cases/queues/mine?page={page}")
        assert resp.status_code == 200
        assert case.reference in resp.get_data(as_text=True)
