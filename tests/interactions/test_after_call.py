"""Must show (a): a handler finishes a saved interaction after the call (Call State,
Duration, an After-Call Emergency Intervention, a complaint), each change audited with
before/after; a volunteer who is not a handler cannot add themselves and, without
verifying the caller, sees neither the enquirer nor the notes."""
import pytest
from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.interactions.models import Interaction, InteractionHandler
from tests.cases.helpers import item, seed_lists
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user


@pytest.fixture
def saved(app, client, auth):
    """Elliot (supervisor) saved a call with Angie (volunteer) as its handler; no Call
    State, no Duration yet."""
    seed_lists()
    elliot = make_user("supervisor", name="Elliot Hunter", email="elliot@example.org")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel", email="angie@example.org")
    caller = make_contact(elliot)
    case = create_case(caller, "Food parcel needed", elliot)
    db.session.commit()
    auth.login(elliot.email)
    resp = client.post("/interactions/new", data={
        "csrf_token": csrf_token(client, "/interactions/new"), "enquirer_id": caller.id,
        "interaction_date": "01/02/2021 09:15", "direction": "Inbound",
        "case_ref": case.reference, "notes": "Caller upset about the delivery",
        "handlers": [angie.id]})
    assert resp.status_code == 302
    interaction = db.session.scalar(select(Interaction))
    assert interaction.call_state_id is None and interaction.duration_mins is None
    return {"elliot": elliot, "angie": angie, "caller": caller, "case": case,
            "interaction": interaction, "url": f"/interactions/{interaction.id}"}


def _changes(reference: str) -> dict[str, tuple]:
    db.session.expire_all()
    return {e.field: (e.before, e.after) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "interaction",
                                 AuditEntry.record_id == reference,
                                 AuditEntry.action == "update"))}


def _finish(client, url, **fields):
    return client.post(f"{url}/finish", data={"csrf_token": csrf_token(client, url), **fields})


def test_a_handler_sets_call_state_duration_and_an_intervention_after_the_call(app, saved):
    angie = client_for(app, saved["angie"])
    url, ref = saved["url"], saved["interaction"].reference
    page = angie.get(url).get_data(as_text=True)
    assert "After the call" in page and "After-Call Emergency Interventions" in page
    resp = _finish(angie, url, call_state_id=item("call_state", "Completed").id,
                   duration_mins="25",
                   interventions=[item("emergency_intervention", "Police called").id])
    assert resp.status_code == 302
    db.session.expire_all()
    saved_row = db.session.get(Interaction, saved["interaction"].id)
    assert saved_row.call_state.name == "Completed" and saved_row.duration_mins == 25
    assert [i.name for i in saved_row.interventions] == ["Police called"]
    assert _changes(ref) == {"Call State": (None, "Completed"), "Duration (mins)": (None, "25"),
                             "After-Call Emergency Interventions": (None, "Police called")}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "Call State"))
    assert entry.actor_id == saved["angie"].id
    shown = angie.get(url).get_data(as_text=True)
    assert "Completed" in shown and "Police called" in shown
    # changed again later: the audit says from what to what
    _finish(angie, url, call_state_id=item("call_state", "Dropped").id, duration_mins="30")
    changed = db.session.scalars(select(AuditEntry).where(
        AuditEntry.field == "Duration (mins)").order_by(AuditEntry.id)).all()
    assert [(e.before, e.after) for e in changed] == [(None, "25"), ("25", "30")]
    interventions = db.session.scalars(select(AuditEntry).where(
        AuditEntry.field == "After-Call Emergency Interventions").order_by(AuditEntry.id)).all()
    assert [(e.before, e.after) for e in interventions] == [(None, "Police called"),
                                                            ("Police called", None)]


def test_bad_after_call_input_is_refused_at_its_field_and_nothing_changes(app, saved):
    angie = client_for(app, saved["angie"])
    url = saved["url"]
    resp = _finish(angie, url, duration_mins="2000")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Duration must be 24 hours (1440 minutes) or less" in html
    # the summary at the top links to the field; the title says there is an error
    assert "<title>Error:" in html and 'href="#duration_mins"' in html
    resp = _finish(angie, url, out_of_remit="y")
    assert "Choose the Out of Remit Reason" in resp.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(Interaction, saved["interaction"].id)
    assert row.duration_mins is None and not row.out_of_remit
    assert _changes(row.reference) == {}


def test_a_supervisor_flags_a_complaint_after_the_call(client, saved):
    url = saved["url"]  # Elliot is a supervisor (and not a handler of it)
    reason = item("out_of_remit_reason", "Complaint about our response")
    assert _finish(client, url, out_of_remit="y", out_of_remit_reason_id=reason.id
                   ).status_code == 302
    db.session.expire_all()
    row = db.session.get(Interaction, saved["interaction"].id)
    assert row.is_complaint
    assert _changes(row.reference) == {
        "Out Of Remit": ("No", "Yes"),
        "Out of Remit Reason": (None, "Complaint about our response")}
    assert "Complaints (1)" in client.get("/supervisor/").get_data(as_text=True)


def test_a_volunteer_who_is_not_a_handler_cannot_add_themselves_or_see_the_call(app, saved):
    bob_user = make_user("volunteer", name="Bob Nosy")
    bob = client_for(app, bob_user)
    url, interaction = saved["url"], saved["interaction"]
    handlers_before = db.session.execute(select(
        InteractionHandler.id, InteractionHandler.user_id)).all()
    page = bob.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 403 and "Verify the caller" in html
    assert "Livingstone" not in html and "Caller upset" not in html
    # adding himself by the interaction's number is refused, and changes nothing
    token = csrf_token(bob, "/interactions/new")
    refused = bob.post(f"{url}/handlers", data={"csrf_token": token,
                                                "handlers": [bob_user.id]})
    assert refused.status_code == 403
    assert "handlers or a supervisor can" in refused.get_data(as_text=True)
    refused = bob.post(f"{url}/finish", data={"csrf_token": token, "duration_mins": "1"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.execute(select(InteractionHandler.id, InteractionHandler.user_id)
                              ).all() == handlers_before
    assert db.session.get(Interaction, interaction.id).duration_mins is None
    assert bob.get(url).status_code == 403  # still nothing shown
    # having verified the caller he sees the call, but still cannot change it
    contact_url = f"/contacts/{saved['caller'].id}"
    bob.post(f"{contact_url}/verify", data={"csrf_token": csrf_token(bob, contact_url),
                                            "details": ["Name", "Postcode"]})
    html = bob.get(url).get_data(as_text=True)
    assert "Caller upset" in html and "After the call" not in html
    assert "handlers or a supervisor can" in html
    assert bob.post(f"{url}/handlers", data={"csrf_token": csrf_token(bob, url),
                                             "handlers": [bob_user.id]}).status_code == 403
    db.session.expire_all()
    assert db.session.execute(select(InteractionHandler.id, InteractionHandler.user_id)
                              ).all() == handlers_before


def test_a_handler_assigns_another_handler(app, saved):
    angie = client_for(app, saved["angie"])
    maggie = make_user("volunteer", name="Maggie Evans")
    url = saved["url"]
    assert angie.post(f"{url}/handlers", data={"csrf_token": csrf_token(angie, url),
                                               "handlers": [maggie.id]}).status_code == 302
    db.session.expire_all()
    assert {h.user.name for h in db.session.get(Interaction, saved["interaction"].id).handlers
            } == {"Angie Greenaway-Samuel", "Maggie Evans"}


def test_an_anonymous_call_without_a_case_is_for_its_handlers_and_supervisors(app, client,
                                                                            saved):
    db.session.add(Interaction(fully_anonymous=True, direction="Inbound",
                               notes="Anonymous caller said something private"))
    db.session.commit()
    anonymous = db.session.scalar(select(Interaction).where(Interaction.fully_anonymous))
    url = f"/interactions/{anonymous.id}"
    volunteer = client_for(app, make_user("volunteer"))
    resp = volunteer.get(url)
    assert resp.status_code == 403 and "private" not in resp.get_data(as_text=True)
    assert "private" in client.get(url).get_data(as_text=True)  # the supervisor
