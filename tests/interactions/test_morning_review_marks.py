"""Issue 15 (a "try to break it" review): "Mark reviewed" marks only what is on the
reviewer's list now, a flag saved after the mark brings the item back, and odd numbers in
the after-call form and page links give a message or a page, never a server error."""
# ruff: noqa: F811  (the shared `complaint` fixture is imported, then requested by name)
import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.cases.models import Case
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.lookups.models import offered
from helpline.supervisor.models import ReviewItem, ReviewMark
from tests.cases.helpers import case_form, item, seed_lists
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user
from tests.interactions.test_morning_review import _make_reviewer, complaint  # noqa: F401


def _marks() -> int:
    return db.session.scalar(select(func.count(ReviewMark.id))) or 0


def _mark(client, key: str):
    return client.post(f"/supervisor/review/{key}",
                       data={"csrf_token": csrf_token(client, "/supervisor/")})


def test_a_reviewer_cannot_mark_complaints_before_they_exist(app, client, auth):
    seed_lists()
    vera = client_for(app, _make_reviewer(app, "volunteer", "Vera Volunteer"))
    for key in [f"interaction:{n}:complaints" for n in range(1, 6)] + [
            "anything at all", "interaction:1:nothing", "case:1:complaints",
            "callback:1:overdue", "case:1:safeguarding", "interaction:1:assigned",
            "interaction:" + "9" * 30 + ":complaints", "interaction:²:complaints"]:
        assert _mark(vera, key).status_code == 404, key
    assert _marks() == 0
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "mark-reviewed")) == 0
    # the complaint taken after that waits in the review
    sup = make_user("supervisor")
    auth.login(sup.email)
    resp = client.post("/interactions/new", data={
        "csrf_token": csrf_token(client, "/interactions/new"),
        "enquirer_id": make_contact(sup).id, "interaction_date": "04/12/2026 23:30",
        "direction": "Inbound", "out_of_remit": "y", "notes": "Complaint about Vera",
        "out_of_remit_reason_id": item("out_of_remit_reason", "Complaint about our response").id,
        "handlers": [sup.id]})
    assert resp.status_code == 302
    ref = db.session.scalar(select(Interaction)).reference
    for who in (client, vera):
        page = who.get("/supervisor/").get_data(as_text=True)
        assert "Complaints (1)" in page and ref in page


def test_an_item_marked_once_cannot_be_marked_again(app, complaint):
    key = f"interaction:{complaint['interaction'].id}:complaints"
    sup = client_for(app, complaint["elliot"])
    assert _mark(sup, key).status_code == 302 and _marks() == 1
    assert _mark(sup, key).status_code == 404
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "mark-reviewed")) == 1


def test_only_the_assigned_handler_marks_their_assignment(app, client, auth):
    seed_lists()
    sup, assigned = make_user("supervisor"), make_user("supervisor", name="Sam Assigned")
    auth.login(sup.email)
    assert client.post("/interactions/new", data={
        "csrf_token": csrf_token(client, "/interactions/new"),
        "enquirer_id": make_contact(sup).id, "interaction_date": "04/12/2026 23:30",
        "direction": "Inbound", "notes": "Over to Sam",
        "handlers": [sup.id, assigned.id]}).status_code == 302
    key = f"interaction:{db.session.scalar(select(Interaction.id))}:assigned"
    assert _mark(client, key).status_code == 404 and _marks() == 0
    sam = client_for(app, assigned)
    assert "Assigned to you (1)" in sam.get("/supervisor/").get_data(as_text=True)
    assert _mark(sam, key).status_code == 302 and _marks() == 1
    assert "Assigned to you (" not in sam.get("/supervisor/").get_data(as_text=True)


def _finish(client, interaction, interventions, **extra):
    url = f"/interactions/{interaction.id}"
    return client.post(f"{url}/finish", data={
        "csrf_token": csrf_token(client, url), "interventions": [i.id for i in interventions],
        "out_of_remit": "y", "out_of_remit_reason_id": item(
            "out_of_remit_reason", "Complaint about our response").id, **extra})


def test_an_intervention_added_after_the_mark_comes_back(app, client, complaint):
    interaction = complaint["interaction"]
    police, ambulance = offered("emergency_intervention")[:2]
    assert _finish(client, interaction, [police]).status_code == 302
    assert _finish(client, interaction, [police]).status_code == 302  # saved twice
    assert db.session.scalar(select(func.count(ReviewItem.id)).where(
        ReviewItem.grp == "emergency")) == 1
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Emergency interventions (1)" in page and police.name in page
    assert _mark(client, f"interaction:{interaction.id}:emergency").status_code == 302
    assert "Emergency interventions (" not in client.get("/supervisor/").get_data(as_text=True)
    # a handler adds another intervention later: back in the review, with both named
    assert _finish(client, interaction, [police, ambulance]).status_code == 302
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Emergency interventions (1)" in page and ambulance.name in page
    # and it can be marked again (the mark names the latest reviewer)
    other = make_user("supervisor")
    assert _mark(client_for(app, other), f"interaction:{interaction.id}:emergency"
                 ).status_code == 302
    assert db.session.scalar(select(ReviewMark.reviewed_by_id).where(
        ReviewMark.item_key == f"interaction:{interaction.id}:emergency")) == other.id
    assert "Emergency interventions (" not in client.get("/supervisor/").get_data(as_text=True)


def test_safeguarding_switched_off_and_on_after_the_mark_comes_back(app, client):
    seed_lists()
    sup = make_user("supervisor")
    client_ = client_for(app, sup)
    url = f"/cases/new/{make_contact(sup).id}"
    assert client_.post(url, data={**case_form(safeguarding_activated="yes",
                                               safeguarding_reason="Lives alone, at risk"),
                                   "csrf_token": csrf_token(client_, url)}).status_code == 302
    case = db.session.scalar(select(Case))
    assert _mark(client_, f"case:{case.id}:safeguarding").status_code == 302
    assert "Safeguarding activated (" not in client_.get("/supervisor/").get_data(as_text=True)

    def save(**values):
        db.session.expire_all()
        version = db.session.get(Case, case.id).version
        case_url = f"/cases/{case.id}"
        resp = client_.post(case_url, data={**case_form(version=str(version), **values),
                                            "csrf_token": csrf_token(client_, case_url)})
        assert resp.status_code == 302

    save(safeguarding_activated="no")
    assert "Safeguarding activated (" not in client_.get("/supervisor/").get_data(as_text=True)
    save(safeguarding_activated="yes", safeguarding_reason="Threatened by a neighbour")
    page = client_.get("/supervisor/").get_data(as_text=True)
    assert "Safeguarding activated (1)" in page and "Threatened by a neighbour" in page


@pytest.mark.parametrize("duration", ["²", "٣", "1²", "-²", "9" * 40])
def test_an_odd_duration_gets_a_message(client, complaint, duration):
    interaction = complaint["interaction"]
    resp = _finish(client, interaction, [], duration_mins=duration)
    assert resp.status_code == 422
    assert "Duration must be" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Interaction, interaction.id).duration_mins is None


@pytest.mark.parametrize("url", ["/interactions/mine?page=" + "9" * 30,
                                 "/interactions/mine?page=-" + "9" * 30,
                                 "/supervisor/?complaints=" + "9" * 30,
                                 "/supervisor/?complaints=-5&emergency=²"])
def test_a_huge_page_number_shows_the_last_page(client, complaint, url):
    resp = client.get(url)
    assert resp.status_code == 200
    assert complaint["interaction"].reference in resp.get_data(as_text=True)


def test_marking_from_a_huge_page_goes_back_to_the_review(client, complaint):
    key = f"interaction:{complaint['interaction'].id}:complaints"
    resp = client.post(f"/supervisor/review/{key}?complaints={'9' * 30}",
                       data={"csrf_token": csrf_token(client, "/supervisor/")})
    assert resp.status_code == 302
    assert client.get(resp.headers["Location"]).status_code == 200


HOSTILE = ["²", "٣", "9" * 30, "-1", "1\x00", "\x07\x1b[2J", "x" * 20000]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_the_after_call_form_get_messages(client, complaint, value):
    interaction = complaint["interaction"]
    url = f"/interactions/{interaction.id}"
    resp = client.post(f"{url}/finish", data={
        "csrf_token": csrf_token(client, url), "duration_mins": value, "interventions": value,
        "call_state_id": value, "out_of_remit": "y", "out_of_remit_reason_id": value})
    assert resp.status_code == 422
    assert "There is a problem" in resp.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Interaction, interaction.id)
    assert saved.duration_mins is None and not saved.interventions


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_handlers_are_refused_with_a_message(client, complaint, value):
    interaction = complaint["interaction"]
    url = f"/interactions/{interaction.id}"
    resp = client.post(f"{url}/handlers", data={"csrf_token": csrf_token(client, url),
                                                 "handlers": value})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    # (NUL is dropped from every form value: "1\x00" names the handler already on it)
    assert "Unknown handler: choose handlers from the suggestions" in page \
        or "Choose a handler to assign." in page or "Assigned nobody new." in page
    db.session.expire_all()
    assert len(db.session.get(Interaction, interaction.id).handlers) == 1


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_a_new_interaction_get_messages(client, complaint, value):
    resp = client.post("/interactions/new", data={
        "csrf_token": csrf_token(client, "/interactions/new"), "enquirer_id": value,
        "interaction_date": value, "direction": value, "duration_mins": value,
        "handlers": [value], "interventions": value, "notes": value})
    assert resp.status_code in (200, 422)
    assert db.session.scalar(select(func.count(Interaction.id))) == 1  # the complaint only


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_page_links_show_a_page(client, complaint, value):
    from urllib.parse import quote
    q = quote(value)
    for url in (f"/supervisor/?complaints={q}&emergency={q}", f"/interactions/mine?page={q}",
                f"/interactions/new?contact_id={q}&case_id={q}",
                f"/interactions/handlers?page={q}&q={q}",
                f"/supervisor/calls?page={q}&hour={q}",
                f"/supervisor/audit?user={q}&since={q}&until={q}&record_id={q}"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_audit_trail_takes_the_first_and_last_dates(client, complaint, day):
    assert client.get(f"/supervisor/audit?since={day}&until={day}").status_code == 200


def test_two_reviewers_marking_at_once_record_one_mark(app, complaint):
    from tests.conftest import at_the_same_moment

    key = f"interaction:{complaint['interaction'].id}:complaints"
    clients = [client_for(app, complaint["elliot"]), client_for(app, make_user("supervisor"))]
    tokens = [csrf_token(c, "/supervisor/") for c in clients]
    codes = at_the_same_moment(lambda c, t: c.post(f"/supervisor/review/{key}", data={
        "csrf_token": t}).status_code, list(zip(clients, tokens)))
    assert sorted(codes) in ([302, 302], [302, 404]), codes
    assert _marks() == 1
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "mark-reviewed")) == 1


def test_a_complaint_flagged_again_after_the_mark_comes_back(app, client, complaint):
    interaction = complaint["interaction"]
    assert _mark(client, f"interaction:{interaction.id}:complaints").status_code == 302
    url = f"/interactions/{interaction.id}"
    assert client.post(f"{url}/finish", data={"csrf_token": csrf_token(client, url)}
                       ).status_code == 302  # Out Of Remit taken off
    assert "Complaints (" not in client.get("/supervisor/").get_data(as_text=True)
    assert _finish(client, interaction, []).status_code == 302  # and flagged again
    page = client.get("/supervisor/").get_data(as_text=True)
    assert "Complaints (1)" in page and interaction.reference in page
