"""Every route checks the role; every POST needs a CSRF token."""
import pytest

from helpline.auth.models import User
from helpline.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_user

ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/mail", "/admin/jobs/failed"]
STAFF_PAGES = ["/", "/notifications"]


@pytest.mark.parametrize("path", ADMIN_PAGES + STAFF_PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["volunteer", "supervisor", "data"])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_non_admins_get_a_403_that_says_what_they_lack(client, auth, role, path):
    auth.login(make_user(role, name="Barry Smith").email)
    resp = client.get(path)
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert "You do not have access to this page" in html
    assert "needs the Administrator role" in html
    assert "Barry Smith" in html


@pytest.mark.parametrize("path", ADMIN_PAGES + STAFF_PAGES)
def test_admins_can_open_everything(client, auth, path):
    auth.login(make_user("admin").email)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("role", ["volunteer", "supervisor", "data"])
def test_staff_see_the_home_page(client, auth, role):
    auth.login(make_user(role).email)
    assert client.get("/").status_code == 200


def test_unknown_page_is_a_friendly_404(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "Page not found" in resp.get_data(as_text=True)


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, auth):
    target = make_user()
    auth.login(make_user("admin").email)
    resp = client.post(f"/admin/users/{target.id}/active/0", data={})
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_post_with_a_wrong_csrf_token_is_refused(client, auth):
    auth.login(make_user().email)
    resp = client.post("/logout", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_login_post_without_csrf_token_is_refused(client):
    user = make_user()
    resp = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_htmx_sends_the_token_in_a_header(client, auth):
    target = make_user()
    auth.login(make_user("admin").email)
    token = csrf_token(client, "/admin/users")
    resp = client.post(f"/admin/users/{target.id}/active/0",
                       headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False


def test_admin_cannot_deactivate_themselves(client, auth):
    admin = make_user("admin")
    auth.login(admin.email)
    token = csrf_token(client, "/admin/users")
    resp = client.post(f"/admin/users/{admin.id}/active/0", data={"csrf_token": token},
                       follow_redirects=True)
    assert "You cannot deactivate yourself" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_htmx_request_for_a_protected_page_redirects_the_whole_page(client):
    resp = client.get("/", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"].startswith("/login")
