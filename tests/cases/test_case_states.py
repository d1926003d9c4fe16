"""Issue 15: the service desk's status and the data team's review state are two things.
Desk work never takes a case out of the review queue; a change to an accepted case puts it
back, with a count for the data team (pushed live). HEAT rules (seed 003): the owner stays
the owner, the assignee works the case, the owner closes it once Solved."""
import re

from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.auth.models import Team
from helpline.cases.models import Case
from helpline.cases.services import create_case, mark_ready_for_review
from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.lookups.models import offered
from tests.cases.helpers import seed_lists
from tests.conftest import client_for, csrf_token, wait_until
from tests.contacts.helpers import make_contact
from tests.events.sse_client import Browserish, EventStream
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import PASSWORD, make_user


def _post(c, case, action, **data):
    url = f"/cases/{case.id}"
    return c.post(f"{url}/{action}", data={"csrf_token": csrf_token(c, url), **data})


def _case(case_id):
    db.session.expire_all()
    return db.session.get(Case, case_id)


def _row(case_id):
    c = _case(case_id)
    return c.status, c.review_state, c.owner_id, c.assignee_id, c.solution, c.version


def _badge(html: str, event: str) -> int | None:
    found = re.search(rf'id="{event}-count"[^>]*>(\d+)<', html)
    return int(found.group(1)) if found else None


def _rows(page: str) -> int:
    return page.split('<tbody', 1)[1].count('<tr class="govuk-table__row">')


def _in_review_queue(data_client, case) -> bool:
    page = data_client.get("/review/").get_data(as_text=True)
    table = page.split('id="review-queue"', 1)[1] if 'id="review-queue"' in page else ""
    return case.reference in table


def _world(app):
    seed_lists()
    olive = make_user("volunteer", name="Olive Owner", team="Night Shift")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", team="Day Shift",
                      email="angie@example.org")
    bob = make_user("volunteer", name="Bob Member", team="Night Shift")
    sue = make_user("supervisor", name="Sue Leader", team="Day Shift")
    maggie = make_user("data", name="Maggie Evans", team=None)
    caller = make_contact(olive, first_name="Robert", last_name="Livingstone")
    case = create_case(caller, "Food parcel needed", olive)
    db.session.commit()
    return olive, angie, bob, sue, maggie, case


def test_desk_work_keeps_the_case_in_review_and_a_change_after_acceptance_puts_it_back(app):
    """Must show a."""
    olive, angie, bob, sue, maggie, case = _world(app)
    mark_ready_for_review(case, olive)
    db.session.commit()
    data_c, sue_c = client_for(app, maggie), client_for(app, sue)
    angie_c, olive_c = client_for(app, angie), client_for(app, olive)
    assert _in_review_queue(data_c, case)
    assert _post(sue_c, case, "assign", assignee=f"user-{angie.id}").status_code == 302
    assert _row(case.id)[:2] == ("Assigned", "Ready for review") and _in_review_queue(data_c, case)
    assert _post(angie_c, case, "acknowledge").status_code == 302
    assert _row(case.id)[:2] == ("Acknowledged", "Ready for review")
    assert _in_review_queue(data_c, case)
    assert _post(angie_c, case, "resolve", solution="Food bank delivered",
                 cause="No money until payday").status_code == 302
    assert _row(case.id)[:2] == ("Solved", "Ready for review") and _in_review_queue(data_c, case)
    page = olive_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'Status: <span id="case-status-caption">Solved</span>' in page
    assert 'Review: <span id="review-state">Ready for review</span>' in page

    url = f"/review/cases/{case.id}"
    data_c.post(f"{url}/accept", data={"csrf_token": csrf_token(data_c, url),
                                       "checklist": [i.name for i in offered("review_checklist")]})
    assert _row(case.id)[:2] == ("Solved", "Accepted") and not _in_review_queue(data_c, case)
    assert _badge(data_c.get("/review/").get_data(as_text=True), "awaiting-review") == 0

    # a desk action on the accepted case: the owner closes it → back to the data team
    assert _post(olive_c, case, "close").status_code == 302
    c = _case(case.id)
    assert (c.status, c.review_state, c.updated_since_review) == (
        "Closed", "Ready for review", True)
    assert _in_review_queue(data_c, case)
    queue = data_c.get("/review/").get_data(as_text=True)
    assert _badge(queue, "awaiting-review") == 1
    assert "Updated since review" in queue
    told = data_c.get("/notifications").get_data(as_text=True)
    assert f"Case {case.reference} changed after review" in told
    history = olive_c.get(f"/cases/{case.id}").get_data(as_text=True).split(
        'id="status-history"', 1)[1]
    assert "Review: Ready for review → Accepted by Maggie Evans" in history
    assert "Review: Accepted → Ready for review by Olive Owner (Updated since review)" in history
    assert "Solved → Closed by Olive Owner" in history
    # volunteers have no Awaiting review badge
    assert _badge(olive_c.get("/cases/queues/mine").get_data(as_text=True),
                  "awaiting-review") is None


def test_the_queue_counts_are_pushed_live(app, live_server):
    """The data team's count when an accepted case changes; the assignee's Assigned to me."""
    olive, angie, bob, sue, maggie, case = _world(app)
    case.review_state = "Accepted"
    db.session.commit()
    data, handler = Browserish(live_server.url), Browserish(live_server.url)
    data.login(maggie.email, PASSWORD)
    handler.login(angie.email, PASSWORD)
    assert _badge(data.get("/review/"), "awaiting-review") == 0
    assert _badge(handler.get("/"), "assigned-to-me") == 0
    streams = [EventStream(live_server.url, "/events", b.cookie_header())
               for b in (data, handler)]
    try:
        wait_until(lambda: app.extensions["broker"].subscriber_count() == 2)
        sue_c = client_for(app, sue)
        assert _post(sue_c, case, "assign", assignee=f"user-{angie.id}").status_code == 302
        assert _badge(streams[0].next_event("awaiting-review")["data"], "awaiting-review") == 1
        assert _badge(streams[1].next_event("assigned-to-me")["data"], "assigned-to-me") == 1
    finally:
        for stream in streams:
            stream.close()


def test_owner_and_assignee_are_separate_and_the_owner_closes_only_once_solved(app, smtp):
    """Must show b."""
    olive, angie, bob, sue, maggie, case = _world(app)
    sue_c, olive_c = client_for(app, sue), client_for(app, olive)
    angie_c, bob_c = client_for(app, angie), client_for(app, bob)
    night = db.session.scalar(select(Team).where(Team.name == "Night Shift"))
    # the team queue first (HEAT's Call Group): Bob, of Night Shift, sees it
    assert _post(sue_c, case, "assign", assignee=f"team-{night.id}").status_code == 302
    team_page = bob_c.get("/cases/queues/team").get_data(as_text=True)
    assert case.reference in team_page and _badge(team_page, "team-cases") == 1
    assert case.reference not in angie_c.get("/cases/queues/team").get_data(as_text=True)
    # then to Angie by name: in her Assigned to me, out of the team queue
    assert _post(sue_c, case, "assign", assignee=f"user-{angie.id}").status_code == 302
    mine = angie_c.get("/cases/queues/assigned").get_data(as_text=True)
    assert case.reference in mine and _badge(mine, "assigned-to-me") == 1
    assert case.reference not in bob_c.get("/cases/queues/team").get_data(as_text=True)
    # the call taker is still the owner: My cases
    assert _row(case.id)[2:4] == (olive.id, angie.id)
    assert case.reference in olive_c.get("/cases/queues/mine").get_data(as_text=True)
    assert case.reference not in angie_c.get("/cases/queues/mine").get_data(as_text=True)

    # the owner cannot close it before it is Solved: a message, nothing changed
    before = _row(case.id)
    refused = _post(olive_c, case, "close")
    assert refused.status_code == 403
    assert "Resolve the case first (Solution and Cause): it is Assigned." in \
        refused.get_data(as_text=True)
    assert _row(case.id) == before
    # nor can anyone but Angie acknowledge it
    refused = _post(olive_c, case, "acknowledge")
    assert refused.status_code == 403
    assert "Only Angie Greenaway-Samuel can acknowledge this case" in refused.get_data(
        as_text=True)
    assert _row(case.id) == before

    assert _post(angie_c, case, "acknowledge").status_code == 302
    assert _post(angie_c, case, "resolve", solution="Food bank delivered",
                 cause="No money until payday").status_code == 302
    assert _row(case.id)[:4] == ("Solved", "Not ready", olive.id, angie.id)
    # the assignee may Quick Close, only the owner has Close case
    desk = angie_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Quick Close</button>" in desk and 'id="close-submit"' not in desk
    assert 'id="close-submit"' in olive_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert _post(angie_c, case, "close").status_code == 403  # not Quick Close: the owner's
    assert _post(olive_c, case, "close").status_code == 302
    assert _row(case.id)[0] == "Closed"
    assert case.reference not in olive_c.get("/cases/queues/mine").get_data(as_text=True)
    history = olive_c.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "created (Open) by Olive Owner" in history
    assert "Solved → Closed by Olive Owner" in history


def test_the_assignee_opens_the_case_from_the_mail_and_it_names_the_caller(app, smtp):
    olive, angie, bob, sue, maggie, case = _world(app)
    sue_c = client_for(app, sue)
    assert _post(sue_c, case, "assign", assignee=f"user-{angie.id}").status_code == 302
    run_jobs(app)
    mail = [m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"][0]
    assert "Caller: Robert Livingstone" in mail["body"]
    link = re.search(r"https?://\S+(/cases/\d+)", mail["body"]).group(1)
    angie_c = client_for(app, angie)  # has verified no one this session
    page = angie_c.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'href="/contacts/{case.caller_id}"' in text and "Robert Livingstone" in text
    assert angie_c.get(f"/contacts/{case.caller_id}").status_code == 200
    logged = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "access-by-owner", AuditEntry.actor_id == angie.id,
        AuditEntry.record_id == case.reference))
    assert logged is not None and "assignee of" in logged.reason


def test_a_team_member_opens_a_team_queue_case_without_verifying(app):
    olive, angie, bob, sue, maggie, case = _world(app)
    night = db.session.scalar(select(Team).where(Team.name == "Night Shift"))
    bob_c, angie_c = client_for(app, bob), client_for(app, angie)
    assert angie_c.get(f"/cases/{case.id}").status_code == 403  # not hers, not verified
    assert _post(client_for(app, sue), case, "assign",
                 assignee=f"team-{night.id}").status_code == 302
    assert bob_c.get(f"/cases/{case.id}").status_code == 200
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "access-by-owner", AuditEntry.actor_id == bob.id)) is not None
    assert angie_c.get(f"/cases/{case.id}").status_code == 403  # Day Shift: still not hers


def test_sent_back_to_me_shows_the_data_teams_reasons(app):
    olive, angie, bob, sue, maggie, case = _world(app)
    other = create_case(case.caller, "Another case", olive)
    mark_ready_for_review(case, olive)
    mark_ready_for_review(other, olive)
    db.session.commit()
    data_c = client_for(app, maggie)
    url = f"/review/cases/{case.id}"
    data_c.post(f"{url}/send-back", data={"csrf_token": csrf_token(data_c, url),
                                          "comment": "Remove the name from the notes"})
    olive_c = client_for(app, olive)
    page = olive_c.get("/cases/queues/sent-back").get_data(as_text=True)
    assert case.reference in page and "Remove the name from the notes" in page
    assert other.reference not in page and _badge(page, "sent-back") == 1
    assert case.reference not in client_for(app, angie).get(
        "/cases/queues/sent-back").get_data(as_text=True)


def test_a_queue_is_paged_sorted_filtered_and_logged_as_one_list(app):
    olive, angie, bob, sue, maggie, case = _world(app)
    for i in range(50):
        create_case(case.caller, f"Case {i:02d}", olive)
    db.session.commit()
    solved = create_case(case.caller, "Zebra solved", olive)
    solved.status = "Solved"
    db.session.commit()
    c = client_for(app, olive)
    first = c.get("/cases/queues/mine").get_data(as_text=True)
    assert "<strong>52</strong> cases" in first and _rows(first) == 50
    assert "Next page" in first and _badge(first, "my-cases") == 52
    second = c.get("/cases/queues/mine?page=2").get_data(as_text=True)
    assert _rows(second) == 2 and "Previous page" in second
    by_title = c.get("/cases/queues/mine?sort=title&dir=desc").get_data(as_text=True)
    assert by_title.index("Zebra solved") < by_title.index("Food parcel needed")
    only = c.get("/cases/queues/mine?status=Solved").get_data(as_text=True)
    assert "Zebra solved" in only and "Food parcel needed" not in only
    assert "<strong>1</strong> case" in only
    nothing = c.get("/cases/queues/mine?since=2999-01-01").get_data(as_text=True)
    assert "You own no open cases." in nothing
    before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    c.get("/cases/queues/mine?status=Solved")
    views = db.session.scalars(select(AuditEntry).where(
        AuditEntry.id > before, AuditEntry.action == "view")).all()
    assert [(v.record_type, v.record_id, v.after) for v in views] == [
        ("case", "list", solved.reference)]
    assert c.get("/cases/queues/nobody").status_code == 404
