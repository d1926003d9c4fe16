"""New contact: consent rules, validation, postcode lookup, duplicates."""
import html as html_lib
import re

from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.contacts import postcodes
from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.conftest import csrf_token
from tests.contacts.helpers import make_contact, post_new
from tests.factories import make_user


def errors_of(html: str) -> list[str]:
    return [html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", e))).replace("Error:", "").strip()
            for e in re.findall(r'<p[^>]*class="govuk-error-message"[^>]*>(.*?)</p>', html, re.S)]


def test_new_contact_page_shows_the_consent_statement_first(client, auth):
    auth.login(make_user().email)
    html = client.get("/contacts/new").get_data(as_text=True)
    assert html.index("Consent statement") < html.index("Consent Status") < html.index("First Name")
    # seed 004: on a new contact Consent Given By stays "The Caller for themselves"; consent
    # for someone else is recorded on the case (issue 15: the option is no longer offered)
    assert "The Caller for themselves" in html
    assert "on behalf of" not in html and 'name="consent_given_by"' not in html
    for label in ("Consent given", "Consent not requested", "Consent requested but refused",
                  "Postcode (Lookup)", "Region (Lookup)", "Consent Decision Date"):
        assert label in html


def test_consent_given_with_empty_fields_gives_the_five_mandatory_errors(client, auth):
    auth.login(make_user().email)
    resp = post_new(client, first_name="", last_name="", postcode="", postcode_area="",
                    phone="", address="")
    assert resp.status_code == 422
    errs = errors_of(resp.get_data(as_text=True))
    assert any("First Name" in e for e in errs)
    assert any("Last Name" in e for e in errs)
    assert any(e.startswith("Enter the Postcode (required") for e in errs)
    assert any("Enter the Postcode (Lookup)" in e for e in errs)
    assert any("Region (Lookup)" in e for e in errs)
    assert "There is a problem" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Contact.id))) == 0


def test_save_creates_the_contact_and_shows_its_page(client, auth):
    auth.login(make_user().email)
    resp = post_new(client)
    assert resp.status_code == 302
    contact = db.session.scalar(select(Contact))
    assert resp.headers["Location"] == f"/contacts/{contact.id}"
    assert contact.region == "West Midlands" and contact.postcode == "B1 1AA"
    assert contact.phone == "07700 900123"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Robert Livingstone" in page and "Caller Cases" in page and "+ New Case" in page
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "create",
                                                      AuditEntry.record_type == "contact"))


def test_save_and_close_returns_home(client, auth):
    auth.login(make_user().email)
    resp = post_new(client, save_close="Save and Close")
    assert resp.headers["Location"] == "/"


def test_refused_consent_with_uk_saves_without_a_name(client, auth):
    auth.login(make_user().email)
    resp = post_new(client, consent_status="Consent requested but refused", first_name="Bob",
                    last_name="", postcode="", postcode_area="uk", phone="")
    assert resp.status_code == 302
    contact = db.session.scalar(select(Contact))
    assert contact.region == "United Kingdom" and contact.first_name is None
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Anonymous (UK – United Kingdom)" in page
    assert "Bob" not in page


def test_a_full_postcode_fills_the_lookup_when_it_is_empty(client, auth):
    auth.login(make_user().email)
    assert post_new(client, postcode="sw1a 2aa", postcode_area="").status_code == 302
    contact = db.session.scalar(select(Contact))
    assert (contact.postcode, contact.postcode_area, contact.region) == ("SW1A 2AA", "SW", "London")


def test_bad_input_is_explained_at_the_field_and_kept(client, auth):
    auth.login(make_user().email)
    resp = post_new(client, phone="12345", email="not-an-email", postcode="XYZ",
                    postcode_area="QQ", date_of_birth=["31", "2", "1990"])
    html = resp.get_data(as_text=True)
    errs = " | ".join(errors_of(html))
    assert "Enter a phone number" in errs
    assert "Enter an email address in the correct format" in errs
    assert "Enter a full UK postcode" in errs
    assert "'QQ' is not a UK postcode area" in errs
    assert "Date of Birth must be a real date" in errs
    assert 'value="12345"' in html and 'value="not-an-email"' in html and 'value="QQ"' in html
    assert db.session.scalar(select(func.count(Contact.id))) == 0


def test_postcode_and_lookup_must_agree(client, auth):
    auth.login(make_user().email)
    resp = post_new(client, postcode="B1 1AA", postcode_area="SW")
    assert "is in area B, not SW" in resp.get_data(as_text=True)


def test_unicode_and_markup_are_kept_exactly_and_escaped(client, auth):
    auth.login(make_user().email)
    post_new(client, first_name="Zoë", last_name="<script>alert(1)</script>")
    contact = db.session.scalar(select(Contact))
    assert contact.last_name == "<script>alert(1)</script>"
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "Zoë" in html


def test_postcode_area_table_is_complete():
    table = postcodes.areas()
    assert len(table) == 125
    assert table["B"].name == "Birmingham" and table["B"].region == "West Midlands"
    assert table["EH"].region == "Scotland" and table["BT"].region == "Northern Ireland"
    assert table["UK"].region == "United Kingdom"


def test_lookup_suggestions_fragment(client, auth):
    auth.login(make_user().email)
    html = client.get("/contacts/postcode-lookup?postcode_area=b",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "B – Birmingham" in html and "BA – Bath" in html
    assert 'id="region"' in html and 'value="West Midlands"' in html and "hx-swap-oob" in html
    chosen = client.get("/contacts/postcode-lookup?choose=EH",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'value="EH"' in chosen and 'value="Scotland"' in chosen
    unknown = client.get("/contacts/postcode-lookup?postcode_area=QQ",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "is not a UK postcode area" in unknown


def test_possible_duplicates_while_typing(client, auth):
    user = make_user()
    make_contact(user, first_name="Robert", last_name="Livingstone")
    make_contact(user, first_name="Mary", last_name="Jones", phone="020 7946 0000",
                 postcode="SW1A 2AA", postcode_area="SW", region="London")
    auth.login(user.email)
    html = client.get("/contacts/duplicates?first_name=Rob&last_name=Livingston",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Robert Livingstone" in html and "Similar name" in html
    by_phone = client.get("/contacts/duplicates?phone=%2B44%2020%207946%200000").get_data(
        as_text=True)
    assert "Mary Jones" in by_phone and "Same phone" in by_phone
    nothing = client.get("/contacts/duplicates?last_name=Zzyzx").get_data(as_text=True)
    assert "Possible existing contacts" not in nothing


def test_duplicates_are_shown_after_a_plain_post_too(client, auth):
    user = make_user()
    make_contact(user)
    auth.login(user.email)
    resp = post_new(client, first_name="Robert", last_name="Livingston", postcode="")
    assert "Possible existing contacts" in resp.get_data(as_text=True)


def test_new_contact_records_consent_for_the_caller_only(client, auth):
    """A crafted post of the old "on behalf of" choice still saves consent for the caller."""
    auth.login(make_user().email)
    post_new(client, consent_given_by="The Caller on behalf of the Beneficiary")
    contact = db.session.scalar(select(Contact))
    assert contact.consent_given_by == "The Caller for themselves"


def test_editing_keeps_consent_given_by_of_a_beneficiary(client, auth):
    """Existing data is untouched: a beneficiary's "on behalf of" survives an edit."""
    from helpline.contacts.services import create_beneficiary
    user = make_user()
    caller = make_contact(user)
    ben = create_beneficiary({"consent_status": "Consent given", "first_name": "Ann",
                              "last_name": "Jones", "postcode": "B1 1AA", "postcode_area": "B",
                              "region": "West Midlands"}, caller, user)
    db.session.commit()
    auth.login(user.email)
    client.post(f"/contacts/{ben.id}/verify", data={
        "csrf_token": csrf_token(client, f"/contacts/{ben.id}"), "details": ["Name"]})
    page = client.get(f"/contacts/{ben.id}/edit").get_data(as_text=True)
    assert "The Caller on behalf of the Beneficiary" in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = client.post(f"/contacts/{ben.id}/edit", data={
        "csrf_token": token, "consent_status": "Consent given", "first_name": "Ann",
        "last_name": "Jones", "postcode": "B1 1AA", "postcode_area": "B",
        "preferred_contact_time": "Evenings", "consent_decision_date-day": "",
        "consent_decision_date-month": "", "consent_decision_date-year": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    ben = db.session.get(Contact, ben.id)
    assert ben.consent_given_by == "The Caller on behalf of the Beneficiary"
    assert ben.preferred_contact_time == "Evenings"


def test_new_contact_with_this_number_from_a_ringing_call_carries_the_number(client, auth):
    """Issue 20: the call panel's "New contact with this number" opens New contact with the
    caller's number in Phone (escaped; never more than the field holds)."""
    auth.login(make_user().email)
    html = client.get("/contacts/new?phone=07700 900123").get_data(as_text=True)
    assert re.search(r'name="phone"[^>]*value="07700 900123"', html)
    hostile = client.get('/contacts/new?phone="><script>x</script>').get_data(as_text=True)
    assert "<script>x</script>" not in hostile
