"""Case drafts kept on the server (issue 15: nothing typed is lost), and Quick Create's
delivery details. The browser half (typed, tab closed, restored) is
tests/browser/test_drafts_browser.py."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.cases.drafts import CaseDraft
from helpline.cases.models import Case
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.review import privacy, retention
from helpline.timeutil import utcnow
from tests.cases.helpers import case_form, extra_field, item, seed_lists
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def setup(app, client, auth):
    seed_lists()
    user = make_user("supervisor", name="Elliot Hunter")
    caller = make_contact(user)
    auth.login(user.email)
    return {"user": user, "caller": caller}


def typed(**overrides) -> dict:
    """A case screen as typed mid-call: a title, a note, a signpost and a referral row."""
    data = case_form(title="Food for the weekend", note="Caller has no food in the house.",
                     feedback_consent="no", **{
                         "signposts-5-category": str(item("signpost_category", "Food banks").id),
                         "referrals-7-type": str(item("local_response_type", "Transport").id),
                         "referrals-7-status": "Sent to local team",
                         f"referrals-7-x-{extra_field('Transport', 'Journey').id}":
                             "Home to GP surgery"})
    data.update(overrides)
    return data


def keep(client, url, token, **overrides):
    return client.post(url, data={**typed(**overrides), "csrf_token": token}, headers=HX)


def drafts() -> list[CaseDraft]:
    db.session.expire_all()
    return list(db.session.scalars(select(CaseDraft)))


def test_draft_is_kept_offered_restored_and_gone_after_save(client, setup):
    caller, user = setup["caller"], setup["user"]
    new = f"/cases/new/{caller.id}"
    page = client.get(new).get_data(as_text=True)
    assert "unsaved draft" not in page
    draft_url = re.search(r'hx-post="([^"]*drafts/new[^"]*)"', page).group(1)
    token = csrf_token(client, new)
    resp = keep(client, draft_url, token)
    assert resp.status_code == 200
    assert re.fullmatch(r"\s*Draft saved \d\d:\d\d\s*", resp.get_data(as_text=True))
    keep(client, draft_url, token, title="Food and a lift to the GP")  # replaces, not adds
    [draft] = drafts()
    assert draft.user_id == user.id and draft.caller_id == caller.id and draft.case_id is None
    assert "csrf_token" not in draft.fields

    page = client.get(new).get_data(as_text=True)
    assert re.search(r"You have an unsaved draft from \d\d/\d\d/\d{4} \d\d:\d\d", page)
    assert "Food and a lift to the GP" not in page  # offered, not yet filled in
    restore = re.search(r'href="([^"]*restore_draft=\d+)"', page).group(1)
    restored = client.get(restore.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="Food and a lift to the GP"' in restored
    assert "Caller has no food in the house." in restored
    assert 'value="Home to GP surgery"' in restored  # the referral's extra field
    assert re.search(r'<option value="%d"\s+selected' % item("signpost_category", "Food banks").id,
                     restored)
    assert re.search(r'<option value="%d"\s+selected'
                     % item("local_response_type", "Transport").id, restored)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "restore draft", AuditEntry.record_type == "contact",
        AuditEntry.record_id == str(caller.id), AuditEntry.actor_id == user.id)) == 1

    data = {**typed(title="Food and a lift to the GP"), "csrf_token": csrf_token(client, new),
            "form_token": re.search(r'name="form_token" value="([^"]+)"', restored).group(1)}
    assert client.post(new, data=data).status_code == 302
    case = db.session.scalar(select(Case))
    assert case.title == "Food and a lift to the GP" and len(case.signposts) == 1
    assert drafts() == []
    assert "unsaved draft" not in client.get(new).get_data(as_text=True)


def test_draft_of_an_existing_case_is_its_own(client, setup):
    caller = setup["caller"]
    new = f"/cases/new/{caller.id}"
    client.post(new, data={**case_form(), "csrf_token": csrf_token(client, new)})
    case = db.session.scalar(select(Case))
    url = f"/cases/{case.id}"
    page = client.get(url).get_data(as_text=True)
    draft_url = re.search(r'hx-post="([^"]*drafts/case[^"]*)"', page).group(1)
    keep(client, draft_url, csrf_token(client, url), title="Renamed mid-call",
         version=str(case.version))
    [draft] = drafts()
    assert draft.case_id == case.id
    assert "unsaved draft" not in client.get(new).get_data(as_text=True)  # not New Case's
    page = client.get(url).get_data(as_text=True)
    assert "You have an unsaved draft from" in page
    restored = client.get(f"{url}?restore_draft={draft.id}").get_data(as_text=True)
    assert 'value="Renamed mid-call"' in restored
    assert db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "restore draft", AuditEntry.record_type == "case",
        AuditEntry.record_id == case.reference)) is not None
    # Discard (a one-button form) deletes it
    token = csrf_token(client, url)
    resp = client.post(f"/cases/drafts/{draft.id}/discard", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == url
    assert drafts() == []


def test_draft_post_without_csrf_is_refused(client, setup):
    caller = setup["caller"]
    resp = client.post(f"/cases/drafts/new/{caller.id}", data=typed(), headers=HX)
    assert resp.status_code == 400
    assert drafts() == []


def test_another_users_draft_is_never_shown_nor_accepted(app, client, setup):
    caller = setup["caller"]
    new = f"/cases/new/{caller.id}"
    keep(client, f"/cases/drafts/new/{caller.id}", csrf_token(client, new))
    [mine] = drafts()
    other = make_user("supervisor", name="Amy Other")
    them = client_for(app, other)
    page = them.get(new).get_data(as_text=True)
    assert "unsaved draft" not in page and "Food for the weekend" not in page
    # restoring or discarding someone else's draft by its number: 404, nothing shown
    resp = them.get(f"{new}?restore_draft={mine.id}")
    assert resp.status_code == 404 and "Food for the weekend" not in resp.get_data(as_text=True)
    token = csrf_token(them, new)
    assert them.post(f"/cases/drafts/{mine.id}/discard",
                     data={"csrf_token": token}).status_code == 404
    # their own autosave keeps their own draft and never touches mine
    keep(them, f"/cases/drafts/new/{caller.id}", token, title="Amy's typing")
    rows = {d.user_id: d for d in drafts()}
    assert set(rows) == {setup["user"].id, other.id}
    assert "Food for the weekend" in rows[setup["user"].id].fields
    # a draft for a caller the volunteer has not verified is refused
    volunteer = make_user("volunteer", name="Val Unverified")
    val = client_for(app, volunteer)
    resp = val.post(f"/cases/drafts/new/{caller.id}",
                    data={**typed(), "csrf_token": csrf_token(val, "/")}, headers=HX)
    assert resp.status_code == 403
    assert len(drafts()) == 2


def test_erasing_the_contact_deletes_their_drafts_only(client, setup):
    caller, user = setup["caller"], setup["user"]
    other = make_contact(user, first_name="Zoe", last_name="Other", phone="07700 900999",
                         postcode="M1 1AA", postcode_area="M", region="North West")
    for contact in (caller, other):
        page = f"/cases/new/{contact.id}"
        keep(client, f"/cases/drafts/new/{contact.id}", csrf_token(client, page))
    kept = {d.caller_id: d.fields for d in drafts()}
    privacy.anonymise(db.session.get(Contact, caller.id), "Erasure request", user)
    db.session.commit()
    left = drafts()
    assert [d.caller_id for d in left] == [other.id]
    assert left[0].fields == kept[other.id]  # byte for byte


def test_retention_deletes_drafts_older_than_a_week(client, setup):
    caller = setup["caller"]
    keep(client, f"/cases/drafts/new/{caller.id}", csrf_token(client, f"/cases/new/{caller.id}"))
    [draft] = drafts()
    report = retention.run(6, now=utcnow() + timedelta(days=6))
    assert report.drafts == 0 and len(drafts()) == 1
    report = retention.run(6, now=utcnow() + timedelta(days=8))
    assert report.drafts == 1 and drafts() == []


# --- Quick Create of a beneficiary: what a local team needs to deliver ---------------

def test_quick_create_saves_address_postcode_region_email_and_preferred_time(client, setup):
    caller = setup["caller"]
    url = f"/cases/quick-create/{caller.id}"
    panel = client.get(url, headers=HX).get_data(as_text=True)
    for name in ("email", "address", "postcode", "postcode_area", "region",
                 "preferred_contact_time"):
        assert f'for="b-{name}"' in panel and f'name="b-{name}"' in panel, name
    # the lookup serves the prefixed fields: the region shows as on New Contact
    lookup = client.get("/contacts/postcode-lookup?p=b-&choose=B", headers=HX)
    assert 'id="b-region"' in lookup.get_data(as_text=True)
    assert 'value="West Midlands"' in lookup.get_data(as_text=True)
    token = csrf_token(client, f"/cases/new/{caller.id}")
    fields = {"b-consent_status": "Consent given", "b-first_name": "Edna",
              "b-last_name": "Jones", "b-email": "edna@", "b-address": "2 Mill Lane\nBirmingham",
              "b-postcode": "B2 4QA", "b-postcode_area": "B",
              "b-preferred_contact_time": "Weekday mornings"}
    bad = client.post(url, headers={**HX, "X-CSRFToken": token}, data=fields)
    html = bad.get_data(as_text=True)
    assert "Enter an email address in the correct format" in html
    for kept in ('value="Edna"', "2 Mill Lane", 'value="Weekday mornings"', 'value="edna@"'):
        assert kept in html, kept  # nothing typed is lost
    assert db.session.scalar(select(Contact).where(Contact.first_name == "Edna")) is None
    good = client.post(url, headers={**HX, "X-CSRFToken": token},
                       data={**fields, "b-email": "edna@example.com"})
    picked = good.get_data(as_text=True)
    assert "Edna Jones" in picked and "Weekday mornings" in picked  # shown to the handler
    edna = db.session.scalar(select(Contact).where(Contact.first_name == "Edna"))
    assert (edna.address, edna.postcode, edna.postcode_area, edna.region, edna.email,
            edna.preferred_contact_time) == ("2 Mill Lane\nBirmingham", "B2 4QA", "B",
                                             "West Midlands", "edna@example.com",
                                             "Weekday mornings")
    assert edna.consent_given_by == "The Caller on behalf of the Beneficiary"
    assert edna.consent_provider_id == caller.id
    contact_page = client.get(f"/contacts/{edna.id}").get_data(as_text=True)
    assert "Weekday mornings" in contact_page and "Preferred contact time" in contact_page

