"""Walk finding (issue 16): with JavaScript off, pressing Save after the idle timeout lost
what was typed. The refused post's fields are kept for the user whose session ended; after
signing in again they are shown once, with one button that saves them."""
from datetime import timedelta

from sqlalchemy import func, select

from helpline.auth.models import UserSession
from helpline.auth.parked import ParkedPost
from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.conftest import client_for, csrf_token
from tests.contacts.helpers import contact_form
from tests.factories import make_user


def _idle_for(user, minutes: int) -> None:
    for sess in db.session.scalars(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None))):
        sess.last_seen_at -= timedelta(minutes=minutes)
    db.session.commit()


def test_a_save_after_the_timeout_is_kept_and_saved_after_signing_in(app, client, auth):
    user = make_user(name="Angie Greenaway-Samuel")
    auth.login(user.email)
    data = {**contact_form(last_name="Livingstone"),
            "csrf_token": csrf_token(client, "/contacts/new")}
    _idle_for(user, 31)
    bounced = client.post("/contacts/new", data=data)
    assert bounced.status_code == 302
    assert "/login?next=/restore/" in bounced.headers["Location"]
    assert db.session.scalar(select(func.count(Contact.id))) == 0
    parked = db.session.scalar(select(ParkedPost))
    assert parked.user_id == user.id and "Livingstone" in parked.fields
    assert "csrf_token" not in parked.fields

    # someone else signing in on this PC does not get it
    other = client_for(app, make_user(name="Oscar Other"))
    assert other.get(f"/restore/{parked.token}").status_code == 302
    assert db.session.scalar(select(func.count(ParkedPost.token))) == 1

    login_url = bounced.headers["Location"]  # the sign-in form posts back to itself
    signed_in = client.post(login_url, data={"csrf_token": csrf_token(client, login_url),
                                             "email": user.email,
                                             "password": "correct horse battery"})
    assert signed_in.headers["Location"] == f"/restore/{parked.token}"
    page = client.get(f"/restore/{parked.token}").get_data(as_text=True)
    assert "Your unsaved work was kept" in page and 'value="Livingstone"' in page
    assert 'action="/contacts/new"' in page
    assert db.session.scalar(select(func.count(ParkedPost.token))) == 0  # shown once
    # "Save it now" sends exactly the kept fields, with this page's fresh CSRF token
    import html
    import re
    fields = [(html.unescape(n), html.unescape(v)) for n, v in re.findall(
        r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)]
    fields.append(("csrf_token", re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)))
    from werkzeug.datastructures import MultiDict
    assert client.post("/contacts/new", data=MultiDict(fields)).status_code == 302
    assert db.session.scalar(select(Contact.last_name)) == "Livingstone"


def test_a_password_is_never_parked(app, client, auth):
    user = make_user()
    auth.login(user.email)
    token = csrf_token(client, "/account/password")
    _idle_for(user, 31)
    client.post("/account/password", data={"csrf_token": token,
                                           "current_password": "correct horse battery",
                                           "new_password": "tulip kettle harbour",
                                           "new_password_again": "tulip kettle harbour"})
    assert db.session.scalar(select(func.count(ParkedPost.token))) == 0
