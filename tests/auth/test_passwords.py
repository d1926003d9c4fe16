"""Must show 4: NCSC/ASVS passwords; self-service change; admin-set passwords are temporary."""
import pytest
from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.auth.models import User
from helpline.extensions import db
from tests.conftest import AuthActions, csrf_token
from tests.factories import PASSWORD, make_user

COMMON = "too common and easy to guess"


def _change(client, current, new, again=None):
    url = "/account/password"
    return client.post(url, data={"csrf_token": csrf_token(client, url),
                                  "current_password": current, "new_password": new,
                                  "new_password_again": new if again is None else again})


@pytest.mark.parametrize("password, message", [
    ("Password1!", "at least 12 characters"),
    ("Password1234!", COMMON),
    ("P@ssw0rd2026!", COMMON),
    ("iloveyou123456", COMMON),
    ("qwertyuiop123", COMMON),
    ("aaaaaaaaaaaaaaa", COMMON),
    ("Helpline2026!!", "must not be based on the person"),
])
def test_weak_passwords_are_refused_at_the_field(client, auth, password, message):
    user = make_user()
    auth.login(user.email)
    resp = _change(client, PASSWORD, password)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert "Error: Change your password" in html
    assert 'href="#new_password"' in html  # the summary points at the field
    db.session.expire_all()
    from werkzeug.security import check_password_hash
    assert check_password_hash(db.session.get(User, user.id).password_hash, PASSWORD)


def test_no_composition_rules_three_words_are_fine(client, auth):
    user = make_user()
    auth.login(user.email)
    resp = _change(client, PASSWORD, "tulip kettle harbour")
    assert resp.status_code == 302
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "password changed", AuditEntry.actor_id == user.id))
    auth.logout()
    assert auth.login(user.email, PASSWORD).status_code == 422
    assert auth.login(user.email, "tulip kettle harbour").status_code == 302


def test_change_needs_the_current_password_and_the_new_one_twice(client, auth):
    user = make_user()
    auth.login(user.email)
    wrong = _change(client, "not my password", "tulip kettle harbour")
    assert "Your current password is not right" in wrong.get_data(as_text=True)
    mismatch = _change(client, PASSWORD, "tulip kettle harbour", "tulip kettle harbor")
    assert "The two new passwords are not the same" in mismatch.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_changed_at is None


def test_an_admin_set_password_must_be_changed_at_first_sign_in(app, client, auth):
    admin = make_user("admin")
    admin_client = app.test_client()
    AuthActions(admin_client).login(admin.email)
    url = "/admin/users/new"
    short = admin_client.post(url, data={"csrf_token": csrf_token(admin_client, url),
                                         "name": "Jess Khan", "email": "jess@example.org",
                                         "role": "volunteer", "password": "Password1!"})
    assert short.status_code == 422
    assert "at least 12 characters" in short.get_data(as_text=True)
    made = admin_client.post(url, data={"csrf_token": csrf_token(admin_client, url),
                                        "name": "Jess Khan", "email": "jess@example.org",
                                        "role": "volunteer", "password": "given by admin 1"})
    assert made.status_code == 302

    resp = auth.login("jess@example.org", "given by admin 1")
    assert resp.headers["Location"].startswith("/login/new-password")
    assert client.get("/").status_code == 302  # nothing opens before the change
    url = "/login/new-password"
    same = client.post(url, data={"csrf_token": csrf_token(client, url),
                                  "new_password": "given by admin 1",
                                  "new_password_again": "given by admin 1"})
    assert "different from the temporary one" in same.get_data(as_text=True)
    weak = client.post(url, data={"csrf_token": csrf_token(client, url),
                                  "new_password": "Password1234!",
                                  "new_password_again": "Password1234!"})
    assert COMMON in weak.get_data(as_text=True)
    done = client.post(url, data={"csrf_token": csrf_token(client, url),
                                  "new_password": "violet anchor pebble",
                                  "new_password_again": "violet anchor pebble"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    jess = db.session.scalar(select(User).where(User.email == "jess@example.org"))
    assert jess.password_must_change is False

    # A reset by the admin is temporary again, and ends Jess's open session.
    eurl = f"/admin/users/{jess.id}/edit"
    admin_client.post(eurl, data={"csrf_token": csrf_token(admin_client, eurl),
                                  "name": "Jess Khan", "role": "volunteer",
                                  "password": "another temporary one"})
    assert client.get("/").status_code == 302
    assert auth.login("jess@example.org", "another temporary one").headers[
        "Location"].startswith("/login/new-password")
