"""A call's interaction, Missed calls with one-click call back, the admin's token, and the
call log under the contacts' erasure and retention rules."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.callback_requests.models import CallBackRequest
from helpline.callbacks.models import CallBack
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.review import privacy, retention
from helpline.telephony import services
from helpline.telephony.models import Call
from helpline.timeutil import utcnow
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.telephony.helpers import pbx, ring, the_call

HX = {"HX-Request": "true"}




def _new_interaction_link(html: str) -> str:
    return re.search(r'href="(/interactions/new\?[^"]+)">New interaction', html).group(1) \
        .replace("&amp;", "&")


def test_hangup_sets_duration_and_call_state_on_the_interaction_opened_from_the_panel(
        app, client, line):
    ring(client, line["token"])
    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    sam = client_for(app, line["sam"])
    link = _new_interaction_link(sam.get("/telephony/panel", headers=HX).get_data(as_text=True))
    page = sam.get(link).get_data(as_text=True)
    assert 'name="call_id" type="hidden" value="c1"' in page
    assert "Jane Smith" in page  # the matched enquirer
    assert re.search(r'value="Inbound"\s+checked|checked[^>]*value="Inbound"', page)
    started = re.search(r'name="interaction_date" type="text" value="([^"]+)"', page).group(1)
    assert started == services.london_format(the_call().started_at)
    resp = sam.post("/interactions/new", data={
        "csrf_token": csrf_token(sam, link), "enquirer_id": line["jane"].id,
        "interaction_date": started, "direction": "Inbound", "call_id": "c1",
        "notes": "Asked about the parcel", "handlers": [line["sam"].id]})
    assert resp.status_code == 302
    interaction = db.session.scalars(select(Interaction)).one()
    assert the_call().interaction_id == interaction.id
    assert interaction.call_state_id is None and interaction.duration_mins is None
    # the call lasts 3 minutes 10 seconds
    call = the_call()
    call.answered_at = utcnow() - timedelta(minutes=3, seconds=10)
    db.session.commit()
    assert pbx(client, line["token"], event="hangup", callId="c1",
               cause="normalClearing").status_code == 200
    db.session.expire_all()
    interaction = db.session.get(Interaction, interaction.id)
    assert interaction.duration_mins == 4 and interaction.call_state.name == "Completed"
    audited = {e.field for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "interaction", AuditEntry.record_id == interaction.reference))}
    assert {"Duration (mins)", "Call State"} <= audited
    # a second hangup changes nothing
    assert pbx(client, line["token"], event="hangup", callId="c1").status_code == 200


def test_an_interaction_saved_after_the_hangup_gets_them_too(app, client, line):
    ring(client, line["token"])
    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    pbx(client, line["token"], event="hangup", callId="c1", cause="normalClearing")
    sam = client_for(app, line["sam"])
    link = _new_interaction_link(sam.get("/telephony/panel", headers=HX).get_data(as_text=True))
    sam.post("/interactions/new", data={
        "csrf_token": csrf_token(sam, link), "enquirer_id": line["jane"].id,
        "interaction_date": "01/02/2021 09:15", "direction": "Inbound", "call_id": "c1",
        "handlers": [line["sam"].id]})
    interaction = db.session.scalars(select(Interaction)).one()
    assert interaction.call_state.name == "Completed" and interaction.duration_mins == 0


def test_an_abandoned_call_is_listed_as_missed_and_becomes_a_call_back_in_one_click(
        app, client, line):
    # Sam owns Jane's case: the click makes a call back on it, owned by Sam (review H1: only
    # someone who may already work on the case becomes a call back's owner)
    ring(client, line["token"])
    pbx(client, line["token"], event="hangup", callId="c1", cause="cancel")
    sam = client_for(app, line["sam"])
    assert "07700" not in sam.get("/telephony/panel", headers=HX).get_data(as_text=True)
    page = sam.get("/telephony/missed").get_data(as_text=True)
    assert "07700 900123" in page and "Jane Smith" in page and "Caller hung up" in page
    assert 'id="missed-calls-count">1<' in page
    resp = sam.post(f"/telephony/missed/{the_call().id}/call-back",
                    data={"csrf_token": csrf_token(sam, "/telephony/missed")})
    assert resp.status_code == 302
    cb = db.session.scalars(select(CallBack)).one()
    assert cb.case_id == line["case"].id and cb.owner_id == line["sam"].id
    assert cb.contact_number == "07700 900123" and "Missed call" in cb.description
    page = sam.get("/telephony/missed").get_data(as_text=True)
    assert f"Done: call back {cb.id}" in page and 'id="missed-calls-count">0<' in page
    # a second click makes nothing more
    sam.post(f"/telephony/missed/{the_call().id}/call-back",
             data={"csrf_token": csrf_token(sam, "/telephony/missed")})
    assert len(list(db.session.scalars(select(CallBack)))) == 1
    assert db.session.scalars(select(CallBackRequest)).all() == []


def test_an_unverified_volunteers_click_makes_a_request_and_never_opens_the_case(
        app, client, line):
    ring(client, line["token"])
    pbx(client, line["token"], event="hangup", callId="c1", cause="cancel")
    kim = client_for(app, line["kim"])
    assert kim.get(f"/cases/{line['case'].id}").status_code == 403
    resp = kim.post(f"/telephony/missed/{the_call().id}/call-back",
                    data={"csrf_token": csrf_token(kim, "/telephony/missed")})
    assert resp.status_code == 302
    assert db.session.scalars(select(CallBack)).all() == []
    req = db.session.scalars(select(CallBackRequest)).one()
    assert req.contact_number == "07700 900123" and "Missed call" in req.notes
    assert the_call().called_back == f"call-back request {req.id}"
    assert kim.get(f"/cases/{line['case'].id}").status_code == 403


def test_a_missed_call_from_an_unknown_number_becomes_a_call_back_request(app, client, line):
    ring(client, line["token"], number="07700 900555")
    pbx(client, line["token"], event="hangup", callId="c1", cause="noAnswer")
    kim = client_for(app, line["kim"])
    kim.post(f"/telephony/missed/{the_call().id}/call-back",
             data={"csrf_token": csrf_token(kim, "/telephony/missed")})
    req = db.session.scalars(select(CallBackRequest)).one()
    assert req.contact_number == "07700 900555" and req.anytime
    assert db.session.scalars(select(CallBack)).all() == []


def test_missed_calls_need_csrf_and_the_list_is_audited(app, client, line):
    ring(client, line["token"])
    pbx(client, line["token"], event="hangup", callId="c1", cause="noAnswer")
    kim = client_for(app, line["kim"])
    kim.post(f"/telephony/missed/{the_call().id}/call-back")
    assert db.session.scalars(select(CallBack)).all() == []
    kim.get("/telephony/missed")
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.record_type == "call", AuditEntry.actor_id == line["kim"].id,
        AuditEntry.action == "view")).after == str(the_call().id)


def test_admin_rotates_the_token_and_the_old_one_stops(app, client, line):
    admin = client_for(app, line["admin"])
    page = admin.get("/telephony/settings")
    assert page.status_code == 200
    resp = admin.post("/telephony/settings", data={
        "rotate-csrf_token": csrf_token(admin, "/telephony/settings"),
        "rotate-submit": "Generate a new token"})
    new = re.search(r"/telephony/([A-Za-z0-9_-]{40,})<", resp.get_data(as_text=True)).group(1)
    assert ring(client, line["token"], call_id="old").status_code == 404
    assert ring(client, new, call_id="new").status_code == 201
    assert client_for(app, line["sam"]).get("/telephony/settings").status_code == 403


def test_the_admin_sets_a_users_extension(app, line):
    admin = client_for(app, line["admin"])
    url = f"/admin/users/{line['kim'].id}/edit"
    page = admin.get(url).get_data(as_text=True)
    assert "Extension or phone login" in page and 'value="202"' in page
    admin.post(url, data={"csrf_token": csrf_token(admin, url), "name": "Kim Other",
                          "role": "volunteer", "language": "English (UK)",
                          "phone_login": "jdoe", "default_team": ""})
    db.session.expire_all()
    assert line["kim"].phone_login == "jdoe"


def test_erasing_a_contact_scrubs_their_calls_and_leaves_others_unchanged(client, line):
    other = make_contact(line["sam"], first_name="Zoe", last_name="Other", phone="07700 900999")
    ring(client, line["token"], call_id="jane-1")
    ring(client, line["token"], call_id="jane-2", number="+44 7700 900123")
    ring(client, line["token"], call_id="zoe", number="07700900999")
    ring(client, line["token"], call_id="stranger", number="07700900777")
    db.session.expire_all()

    def row(ref):
        c = the_call(ref)
        return {k: v for k, v in vars(c).items() if not k.startswith("_")}
    before = {ref: row(ref) for ref in ("zoe", "stranger")}
    privacy.anonymise(db.session.get(Contact, line["jane"].id), "Erasure request", line["admin"])
    db.session.commit()
    for ref in ("jane-1", "jane-2"):
        call = the_call(ref)
        assert call.erased_at and call.number is None and call.number_display is None
        assert call.number_key is None and call.contacts == []
    assert {ref: row(ref) for ref in ("zoe", "stranger")} == before
    assert [c.id for c in the_call("zoe").contacts] == [other.id]


def test_retention_deletes_calls_older_than_the_contacts_period(client, line):
    ring(client, line["token"], call_id="old")
    ring(client, line["token"], call_id="new")
    old = the_call("old")
    old.started_at = utcnow() - timedelta(days=365 * 7)
    db.session.commit()
    retention.run(6)
    db.session.expire_all()
    assert [c.call_ref for c in db.session.scalars(select(Call))] == ["new"]


def test_someone_who_may_not_see_contacts_gets_the_number_and_a_count_only(client, line):
    ring(client, line["token"])
    outsider = line["kim"]
    outsider.role = "none"  # no role that opens contacts (a role a later release may add)
    shown = services.panel_for(outsider)
    assert [(p.names_shown, p.matches, p.match_count) for p in shown] == [(False, [], 1)]
    db.session.rollback()


def test_only_the_answerer_closes_the_panel_and_it_is_audited(app, client, line):
    ring(client, line["token"])
    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    call_id = the_call().id
    kim, sam = client_for(app, line["kim"]), client_for(app, line["sam"])
    kim.post(f"/telephony/calls/{call_id}/dismiss",
             data={"csrf_token": csrf_token(kim, "/telephony/missed")}, headers=HX)
    assert not the_call().dismissed
    resp = sam.post(f"/telephony/calls/{call_id}/dismiss",
                    data={"csrf_token": csrf_token(sam, "/telephony/missed")}, headers=HX)
    assert resp.status_code == 200 and "07700" not in resp.get_data(as_text=True)
    assert the_call().dismissed
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.record_type == "call", AuditEntry.field == "Panel closed")).actor_id \
        == line["sam"].id


def test_an_interaction_marked_active_during_the_call_is_completed_at_hangup(app, client, line):
    """Walk finding (issue 20): seed 000's handler sets Call State "Active" while the call is
    on; the hangup left it Active (and the list counted it finished). Now the end replaces
    Active; a state the handler chose otherwise is kept."""
    from helpline.lookups.models import LookupItem
    active = db.session.scalar(select(LookupItem).where(
        LookupItem.list_name == "call_state", LookupItem.name == "Active"))
    if active is None:
        active = LookupItem(list_name="call_state", name="Active", position=0)
        db.session.add(active)
        db.session.commit()
    ring(client, line["token"])
    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    sam = client_for(app, line["sam"])
    link = _new_interaction_link(sam.get("/telephony/panel", headers=HX).get_data(as_text=True))
    sam.post("/interactions/new", data={
        "csrf_token": csrf_token(sam, link), "enquirer_id": line["jane"].id,
        "interaction_date": "01/02/2021 09:15", "direction": "Inbound", "call_id": "c1",
        "call_state_id": active.id, "handlers": [line["sam"].id]})
    interaction = db.session.scalars(select(Interaction)).one()
    assert interaction.call_state_id == active.id
    pbx(client, line["token"], event="hangup", callId="c1", cause="normalClearing")
    db.session.expire_all()
    interaction = db.session.get(Interaction, interaction.id)
    assert interaction.call_state.name == "Completed"
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.field == "Call State", AuditEntry.record_type == "interaction")
        .order_by(AuditEntry.id.desc()).limit(1))
    assert (entry.before, entry.after) == ("Active", "Completed")


def test_an_ended_calls_panel_leaves_by_itself_after_a_quarter_of_an_hour(app, client, line):
    """Walk finding (issue 20): "Call ended" panels piled up until each was closed."""
    ring(client, line["token"])
    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    pbx(client, line["token"], event="hangup", callId="c1", cause="normalClearing")
    sam = client_for(app, line["sam"])
    assert "Call ended with" in sam.get("/telephony/panel", headers=HX).get_data(as_text=True)
    call = the_call()
    call.ended_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    assert "Call ended with" not in sam.get("/telephony/panel", headers=HX).get_data(
        as_text=True)


def test_a_bad_allowed_address_is_refused_at_the_field_and_nothing_is_saved(app, client, line):
    admin = client_for(app, line["admin"])
    admin.post("/telephony/settings", data={
        "addr-csrf_token": csrf_token(admin, "/telephony/settings"),
        "addr-addresses": "192.0.2.10", "addr-submit": "Save allowed addresses"})
    assert services.allowed_addresses() == "192.0.2.10"
    audits = db.session.scalar(select(func.count(AuditEntry.id)))
    resp = admin.post("/telephony/settings", data={
        "addr-csrf_token": csrf_token(admin, "/telephony/settings"),
        "addr-addresses": "192.0.2.0/24\nthe office", "addr-submit": "Save allowed addresses"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "&#39;the office&#39; is not an address or network" in page
    assert "192.0.2.0/24\nthe office</textarea>" in page  # what was typed is kept
    db.session.expire_all()
    assert services.allowed_addresses() == "192.0.2.10"
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audits
    # without the form's CSRF token nothing changes either
    admin.post("/telephony/settings", data={"addr-addresses": "203.0.113.5",
                                            "addr-submit": "Save allowed addresses"})
    db.session.expire_all()
    assert services.allowed_addresses() == "192.0.2.10"
