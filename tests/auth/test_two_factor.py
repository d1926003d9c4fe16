"""Must show 2: two-factor sign-in (TOTP), recovery codes, admin reset in the audit trail."""
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.auth.models import User
from helpline.extensions import db
from tests.conftest import AuthActions, csrf_token
from tests.factories import PASSWORD, make_user
from tests.security.conftest import build_ids, rule_urls

REQUIRED = ("supervisor", "data", "admin")


@pytest.fixture
def two_factor_on(app):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = REQUIRED
    return app


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows (a later step for a later sign-in)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def set_up(client, auth, user) -> tuple[str, list[str]]:
    """Sign in, go through the forced set-up; returns the secret and the recovery codes."""
    resp = auth.login(user.email)
    assert resp.headers["Location"].startswith("/login/two-factor/set-up")
    page = client.get("/login/two-factor/set-up").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page and "otpauth://totp/" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = _post(client, "/login/two-factor/set-up", code="000000")
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    done = _post(client, "/login/two-factor/set-up", code=_code(secret))
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>",
                       done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def _pages_reachable(app, client) -> list[str]:
    """Every GET route that answers 200 for this client (public ones left out)."""
    from tests.security.matrix import access_rule
    reached = []
    for endpoint, method, url in rule_urls(app, _IDS):
        if method != "GET" or access_rule(app, endpoint) == "public":
            continue
        if endpoint == "notifications.stream":
            continue
        if client.get(url).status_code == 200:
            reached.append(url)
    return reached


_IDS: dict = {}


def test_supervisor_cannot_reach_any_page_without_a_code(two_factor_on, client, auth):
    _IDS.clear()
    _IDS.update(build_ids())
    sup = make_user("supervisor", name="Elliot Hunter")
    # Before set-up: the password alone opens nothing.
    auth.login(sup.email)
    assert _pages_reachable(two_factor_on, client) == []
    secret, _codes = set_up(client, auth, sup)
    assert client.get("/").status_code == 200  # set-up done: signed in
    auth.logout()

    resp = auth.login(sup.email)
    assert resp.headers["Location"].startswith("/login/two-factor")
    assert _pages_reachable(two_factor_on, client) == []
    assert client.get("/").headers["Location"].startswith("/login")
    bad = _post(client, "/login/two-factor", code="123456")
    assert bad.status_code == 422
    assert "That code is not right" in bad.get_data(as_text=True)
    good = _post(client, "/login/two-factor", code=_code(secret, 1))
    assert good.status_code == 302 and good.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_code_works_once(two_factor_on, client, auth):
    sup = make_user("supervisor")
    secret, _ = set_up(client, auth, sup)
    auth.logout()
    code = _code(secret, 1)
    auth.login(sup.email)
    assert _post(client, "/login/two-factor", code=code).status_code == 302
    auth.logout()
    auth.login(sup.email)
    replay = _post(client, "/login/two-factor", code=code)
    assert replay.status_code == 422
    # said as it is (walk finding), and shown beside the failed sign-ins
    assert "That code has just been used. Wait for your authenticator app to show the next" \
        in replay.get_data(as_text=True)
    from helpline.auth.models import LoginAttempt
    db.session.expire_all()
    assert db.session.scalar(select(LoginAttempt).where(
        LoginAttempt.email == sup.email, LoginAttempt.success.is_(False))) is not None


def test_a_recovery_code_works_once(two_factor_on, client, auth):
    sup = make_user("supervisor")
    _secret, codes = set_up(client, auth, sup)
    auth.logout()
    auth.login(sup.email)
    used = _post(client, "/login/two-factor", code=codes[3].upper())
    assert used.status_code == 302 and used.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "You signed in with a recovery code: 9 left" in home.get_data(as_text=True)
    auth.logout()
    auth.login(sup.email)
    again = _post(client, "/login/two-factor", code=codes[3])
    assert again.status_code == 422
    assert client.get("/").status_code == 302
    assert _post(client, "/login/two-factor", code=codes[4]).status_code == 302
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "recovery code used", AuditEntry.actor_id == sup.id)) is not None


def test_admin_reset_is_audited_and_forces_a_new_set_up(two_factor_on, app, client, auth):
    sup = make_user("supervisor", name="Lost Phone")
    set_up(client, auth, sup)
    auth.logout()
    admin = make_user("admin")
    admin_client = app.test_client()
    admin_auth = AuthActions(admin_client)
    set_up(admin_client, admin_auth, admin)
    url = f"/admin/users/{sup.id}/edit"
    assert "Reset second factor" in admin_client.get(url).get_data(as_text=True)
    resp = admin_client.post(f"/admin/users/{sup.id}/two-factor/reset",
                             data={"csrf_token": csrf_token(admin_client, url)},
                             follow_redirects=True)
    assert "Reset the second factor of Lost Phone" in resp.get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "two-factor reset"))
    assert entry.actor_id == admin.id and entry.record_id == str(sup.id)
    db.session.expire_all()
    assert db.session.get(User, sup.id).totp_secret is None
    assert auth.login(sup.email).headers["Location"].startswith("/login/two-factor/set-up")


def test_volunteers_may_set_it_up_and_a_setting_requires_it_for_all(two_factor_on, app,
                                                                    client, auth):
    vol = make_user("volunteer")
    assert auth.login(vol.email).headers["Location"] == "/"  # optional for volunteers
    page = client.get("/account").get_data(as_text=True)
    assert "Not set up" in page and "optional for your role" in page
    # changing how one signs in asks for the password again first
    ask = client.get("/account/two-factor")
    assert ask.status_code == 302 and ask.headers["Location"].startswith("/account/confirm")
    wrong = _post(client, "/account/confirm", password="not my password")
    assert wrong.status_code == 422 and "Your password is not right" in wrong.get_data(
        as_text=True)
    ok = client.post("/account/confirm?next=/account/two-factor", data={
        "csrf_token": csrf_token(client, "/account/confirm"), "password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"] == "/account/two-factor"
    setup = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup).group(1)
    done = _post(client, "/account/two-factor", code=_code(secret))
    assert "Your recovery codes" in done.get_data(as_text=True)
    auth.logout()
    assert auth.login(vol.email).headers["Location"].startswith("/login/two-factor")

    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("volunteer",) + REQUIRED
    other = make_user("volunteer")
    fresh = app.test_client()
    assert AuthActions(fresh).login(other.email).headers["Location"].startswith(
        "/login/two-factor/set-up")


def test_each_set_up_page_has_its_own_secret(two_factor_on, app, client, auth):
    """Review finding: the secret was stored on the account when a set-up page was first
    opened and shown to every later one, so someone who knew the password could read the
    secret the user would go on to enrol."""
    sup = make_user("supervisor")
    intruder = app.test_client()
    AuthActions(intruder).login(sup.email)
    their_page = intruder.get("/login/two-factor/set-up").get_data(as_text=True)
    theirs = re.search(r'id="totp-secret">([A-Z2-7]+)<', their_page).group(1)
    their_csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                           their_page).group(1)
    secret, _codes = set_up(client, auth, sup)
    assert secret != theirs
    db.session.expire_all()
    assert db.session.get(User, sup.id).totp_secret == secret
    # the intruder's code (from their own page's secret) enrols nothing over it: their
    # half-signed-in browser now owes a code from the user's app
    refused = intruder.post("/login/two-factor/set-up",
                            data={"csrf_token": their_csrf, "code": _code(theirs)})
    assert refused.status_code == 302 and "/login/two-factor" in refused.headers["Location"]
    assert "/set-up" not in refused.headers["Location"]
    db.session.expire_all()
    assert db.session.get(User, sup.id).totp_secret == secret


def test_new_recovery_codes_need_the_password_again(two_factor_on, app, client, auth):
    """Review finding: one click at a PC left signed in replaced the owner's printed codes."""
    sup = make_user("supervisor")
    _secret, codes = set_up(client, auth, sup)
    asked = client.post("/account/recovery-codes",
                        data={"csrf_token": csrf_token(client, "/account")})
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/account/confirm")
    db.session.expire_all()
    from helpline.auth import twofactor
    assert twofactor.recovery_codes_left(db.session.get(User, sup.id)) == 10
    ok = client.post("/account/confirm", data={
        "csrf_token": csrf_token(client, "/account/confirm"), "password": PASSWORD})
    assert ok.status_code == 302
    fresh = client.post("/account/recovery-codes",
                        data={"csrf_token": csrf_token(client, "/account")})
    new_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>",
                           fresh.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
