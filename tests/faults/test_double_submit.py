"""A form sent twice (double click, resend after a timeout) creates one record."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.browser.test_browser import sign_in
from tests.contacts.helpers import contact_form
from tests.conftest import csrf_token
from tests.factories import make_user


def test_the_same_form_posted_twice_saves_once(client, auth):
    auth.login(make_user().email)
    html = client.get("/contacts/new").get_data(as_text=True)
    import re
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    data = {**contact_form(), "csrf_token": csrf_token(client, "/contacts/new"),
            "form_token": token}
    first = client.post("/contacts/new", data=data)
    second = client.post("/contacts/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Contact.id))) == 1


@pytest.mark.browser
def test_a_double_click_on_save_creates_one_contact(page, live_server):
    sign_in(page, live_server, make_user())
    page.goto(f"{live_server.url}/contacts/new")
    page.get_by_label("Consent requested but refused").check()
    page.get_by_label("Postcode (Lookup)").fill("UK")
    page.get_by_role("button", name="Save", exact=True).dblclick()
    expect(page.locator("h1")).to_have_text("Anonymous (UK – United Kingdom)")
    assert db.session.scalar(select(func.count(Contact.id))) == 1
