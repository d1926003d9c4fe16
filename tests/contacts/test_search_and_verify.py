"""Active Contacts search, verification before disclosure, audited edits."""
import re

import pytest
from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.cases import services as case_services
from helpline.cases.models import Case
from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.conftest import csrf_token
from tests.contacts.helpers import contact_form, make_contact
from tests.factories import make_user


@pytest.fixture
def people(app):
    owner = make_user("supervisor")
    return {
        "robert": make_contact(owner, first_name="Robert", last_name="Livingstone",
                               phone="07700 900123", postcode="B1 1AA"),
        "peter": make_contact(owner, first_name="Peter", last_name="Livingstone",
                              phone="07700 900456", postcode="B2 4QA"),
        "amira": make_contact(owner, first_name="Amira", last_name="Khan", phone="0121 496 0000",
                              postcode="SW1A 2AA", postcode_area="SW", region="London"),
        "quote": make_contact(owner, first_name="D'Arcy", last_name="O'Neil_100%",
                              phone="", postcode="EH1 1YZ", postcode_area="EH",
                              region="Scotland"),
    }


def names(client, query: str) -> str:
    return client.get("/", query_string={"q": query}).get_data(as_text=True)


@pytest.mark.parametrize("query,found,not_found", [
    ("Living", ["Robert Livingstone", "Peter Livingstone"], ["Amira"]),
    ("liv", ["Robert Livingstone"], ["Amira"]),
    ("Robert Liv", ["Robert Livingstone"], ["Peter Livingstone"]),
    ("robert livingstone", ["Robert Livingstone"], ["Peter"]),
    ("07700 900123", ["Robert Livingstone"], ["Peter"]),
    ("+44 7700 900123", ["Robert Livingstone"], ["Peter"]),
    ("07700900123", ["Robert Livingstone"], ["Peter"]),
    ("+447700900123", ["Robert Livingstone"], ["Peter"]),
    ("07700 900", ["Robert Livingstone", "Peter Livingstone"], ["Amira"]),
    ("b1 1aa", ["Robert Livingstone"], ["Peter"]),
    ("SW1A", ["Amira Khan"], ["Livingstone"]),
    ("K", ["Amira Khan"], ["Livingstone"]),
    ("d'arcy", ["D&#39;Arcy"], ["Livingstone"]),
    ("O'Neil_100%", ["D&#39;Arcy"], ["Livingstone"]),
    ("%", [], ["Livingstone", "Amira"]),
    ("_", [], ["Livingstone", "Amira"]),
    ("' OR 1=1 --", [], ["Livingstone", "Amira"]),
    ("x" * 500, [], ["Livingstone"]),
])
def test_search_this_view(client, auth, people, query, found, not_found):
    auth.login(make_user().email)
    html = names(client, query)
    for name in found:
        assert name in html, f"{query!r} should find {name}"
    for name in not_found:
        assert name not in html, f"{query!r} should not find {name}"


def test_letter_bar_filters_by_first_letter(client, auth, people):
    auth.login(make_user().email)
    html = client.get("/?letter=P").get_data(as_text=True)
    assert "Peter Livingstone" in html and "Robert Livingstone" not in html
    assert "All</a>" in html


def test_live_search_returns_only_the_rows_fragment(client, auth, people):
    auth.login(make_user().email)
    resp = client.get("/?q=Living", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="contact-results"')
    assert "<html" not in html and "Robert Livingstone" in html
    assert "HX-Request" in resp.headers["Vary"]
    full = client.get("/?q=Living").get_data(as_text=True)
    assert "<html" in full and "Search this view" in full


def test_pagination(client, auth, app):
    owner = make_user()
    for i in range(30):
        make_contact(owner, first_name=f"Name{i:02d}", last_name="Smith", phone="")
    auth.login(owner.email)
    first = client.get("/").get_data(as_text=True)
    assert "30 contacts" in first and "Page 1 of 2" in first and "Name00 Smith" in first
    second = client.get("/?page=2").get_data(as_text=True)
    assert "Name29 Smith" in second and "Name00 Smith" not in second


def _case_for(contact, actor, title="Food parcel needed"):
    case = case_services.create_case(contact, title, actor)
    db.session.commit()
    return case


def test_cases_hidden_until_verification_is_recorded(client, auth, people):
    volunteer = make_user("volunteer")
    _case_for(people["robert"], make_user("supervisor"))
    auth.login(volunteer.email)
    url = f"/contacts/{people['robert'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "Verify the caller" in page and "Food parcel needed" not in page
    case_id = db.session.scalar(select(Case.id))
    assert client.get(f"/cases/{case_id}").status_code == 403
    # choosing nothing is refused with a message
    resp = client.post(f"{url}/verify", data={"csrf_token": csrf_token(client, url)})
    assert "Select the details the caller confirmed" in resp.get_data(as_text=True)
    resp = client.post(f"{url}/verify", data={"csrf_token": csrf_token(client, url),
                                               "details": ["Name", "Postcode"]},
                       follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Food parcel needed" in html and "Verify the caller" not in html
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "verify"))
    assert entry.reason == "Caller verified: Name, Postcode" and entry.actor_id == volunteer.id
    assert client.get(f"/cases/{case_id}").status_code == 200


def test_supervisors_are_not_gated(client, auth, people):
    _case_for(people["robert"], make_user())
    auth.login(make_user("supervisor").email)
    page = client.get(f"/contacts/{people['robert'].id}").get_data(as_text=True)
    assert "Food parcel needed" in page


def test_opening_a_contact_is_logged(client, auth, people):
    user = make_user("data")
    auth.login(user.email)
    client.get(f"/contacts/{people['amira'].id}")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "view"))
    assert entry.record_type == "contact" and entry.record_id == str(people["amira"].id)
    assert entry.actor_id == user.id


def _edit(client, contact, **changes):
    url = f"/contacts/{contact.id}/edit"
    data = contact_form(first_name=contact.first_name, last_name=contact.last_name,
                        phone=contact.phone, postcode=contact.postcode,
                        postcode_area=contact.postcode_area, address=contact.address or "")
    data.update(changes)
    data["csrf_token"] = csrf_token(client, url)
    return client.post(url, data=data)


def test_changing_a_phone_needs_a_reason_and_is_noted_on_the_latest_case(client, auth, people):
    robert = people["robert"]
    case = _case_for(robert, make_user())
    auth.login(make_user("supervisor").email)
    refused = _edit(client, robert, phone="07700 900999")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Give a reason for changing Phone" in html and 'value="07700 900999"' in html
    db.session.expire_all()
    assert db.session.get(Contact, robert.id).phone == "07700 900123"

    ok = _edit(client, robert, phone="07700 900999", reason="Caller has a new number")
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, robert.id).phone == "07700 900999"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "Phone",
                                                      AuditEntry.action == "update"))
    assert (entry.before, entry.after, entry.reason) == (
        "07700 900123", "07700 900999", "Caller has a new number")
    case = db.session.get(Case, case.id)
    note = case.notes[0].text
    assert "07700 900123" in note and "07700 900999" in note and "Caller has a new number" in note
    assert case.review_state == "Ready for review"
    assert "Robert Livingstone" in names(client, "07700 900999")


def test_a_change_without_an_open_case_opens_one(client, auth, people):
    auth.login(make_user("supervisor").email)
    resp = _edit(client, people["amira"], last_name="Khaan", reason="Spelling correction")
    assert resp.status_code == 302
    case = db.session.scalar(select(Case).where(Case.caller_id == people["amira"].id))
    assert case.title == "Contact details updated" and case.review_state == "Ready for review"
    assert 'Last Name changed from "Khan" to "Khaan"' in case.notes[0].text


def test_other_changes_need_no_reason(client, auth, people):
    auth.login(make_user("supervisor").email)
    resp = _edit(client, people["amira"], preferred_contact_time="Mornings")
    assert resp.status_code == 302
    assert db.session.scalar(select(Case)) is None


def test_supervisor_merges_duplicates(client, auth, people):
    robert, peter = people["robert"], people["peter"]
    case = _case_for(peter, make_user())
    auth.login(make_user("volunteer").email)
    assert client.get(f"/contacts/{robert.id}/merge").status_code == 403
    auth.logout()
    auth.login(make_user("supervisor").email)
    pick = client.get(f"/contacts/{robert.id}/merge").get_data(as_text=True)
    assert "Peter Livingstone" in pick  # offered as a likely duplicate
    url = f"/contacts/{robert.id}/merge?other={peter.id}"
    form = client.get(url).get_data(as_text=True)
    assert "07700 900456" in form
    resp = client.post(f"/contacts/{robert.id}/merge", data={
        "csrf_token": csrf_token(client, url), "other": peter.id, "phone": "other",
        "first_name": "keep"}, follow_redirects=True)
    assert "Merged Peter Livingstone into Robert Livingstone" in resp.get_data(as_text=True)
    db.session.expire_all()
    survivor, loser = db.session.get(Contact, robert.id), db.session.get(Contact, peter.id)
    assert survivor.phone == "07700 900456" and survivor.first_name == "Robert"
    assert loser.active is False and loser.merged_into_id == robert.id
    assert db.session.get(Case, case.id).caller_id == robert.id
    assert "Peter Livingstone" not in names(client, "Living")
    merges = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "merge")).all()
    assert {m.record_id for m in merges} == {str(robert.id), str(peter.id), case.reference}


def test_named_contacts_come_first_by_name_then_anonymous_ones_across_pages(app):
    from helpline.contacts.services import search_contacts
    from tests.factories import make_user
    user = make_user("volunteer")
    for first, last in (("Cara", "Brown"), ("Abe", "Smith"), ("Bea", "Jones")):
        make_contact(user, first_name=first, last_name=last, phone="")
    unnamed = [make_contact(user, consent_status="Consent requested but refused",
                            first_name=None, last_name=None, phone=None, postcode=None).id
               for _ in range(2)]
    pages = [search_contacts(page=n, per_page=2) for n in (1, 2, 3)]
    assert [c.full_name for c in pages[0].items] == ["Abe Smith", "Bea Jones"]
    assert [c.full_name for c in pages[1].items][0] == "Cara Brown"
    assert [c.id for c in pages[1].items[1:] + pages[2].items] == unnamed
    assert pages[0].total == 5


def test_a_page_of_search_rows_is_under_5_kb_and_keeps_every_column(client, auth):
    """Issue 17: a fragment is at most 5 KB before compression: 25 long names with phone,
    postcode, region and a last case. Ids here are short; a million contacts' 7-digit ids
    add up to 6 B a row, 150 B a page, which is kept as a margin."""
    owner = make_user()
    for i in range(30):
        contact = make_contact(owner, first_name=f"Christabel{i:02d}",
                               last_name="Montgomery", phone=f"07700 9001{i:02d}",
                               postcode="SW1A 1AA", region="Yorkshire and the Humber")
        _case_for(contact, owner)
    auth.login(owner.email)
    resp = client.get("/?q=Christabel", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert len(resp.get_data()) <= 5 * 1024 - 150, len(resp.get_data())
    assert "Page 1 of 2" in html and html.count("<tr>") == 25
    assert re.search(r'<tr><td><a class="govuk-link" href="/contacts/\d+">Christabel00 '
                     r'Montgomery</a><td>07700 900100<td>SW1A 1AA'
                     r'<td>Yorkshire and the Humber<td>\d\d/\d\d/\d{4}</tr>', html)


@pytest.mark.parametrize("query", ["a\ud7ff", "\ud7ff", "\U0010ffff", "smi\U0010ffff",
                                   "\U0010ffff\U0010ffff", "Zo\U0010ffff\U0010ffff"])
def test_a_search_ending_at_the_edge_of_unicode_is_a_page_not_a_500(client, auth, query):
    """Break finding: the range's upper bound after U+D7FF was a surrogate (not encodable)
    and after U+10FFFF no character at all."""
    owner = make_user()
    make_contact(owner, first_name="Smi\U0010ffffth", last_name="Zo\U0010ffff\U0010ffffe")
    auth.login(owner.email)
    resp = client.get("/", query_string={"q": query}, headers={"HX-Request": "true"})
    assert resp.status_code == 200
    found = "Zo\U0010ffff\U0010ffffe" in resp.get_data(as_text=True)
    assert found == (query in ("smi\U0010ffff", "Zo\U0010ffff\U0010ffff"))
