"""Session fixation (what tests/auth does not already cover: throttling, idle timeout,
sign-out and a stolen cookie after sign-out are tested there)."""
from __future__ import annotations

from helpline.auth.models import UserSession
from helpline.extensions import db
from tests.conftest import AuthActions
from tests.factories import make_user


def _cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_planted_before_sign_in_is_worthless_after_it(app):
    attacker = app.test_client()
    attacker.get("/login")  # the attacker gets a fresh pre-login session cookie...
    planted = _cookie(attacker)
    victim = app.test_client()
    victim.set_cookie("session", planted)  # ...and plants it in the victim's browser
    user = make_user()
    assert AuthActions(victim).login(user.email).status_code == 302
    assert victim.get("/").status_code == 200
    assert _cookie(victim) != planted  # sign-in issued a new cookie
    # The attacker, still holding the planted cookie, is not signed in as the victim.
    resp = attacker.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_planted_session_id_is_replaced_at_sign_in(app):
    """Even a session id the attacker chose (or one of another live session) is not kept."""
    other_user = make_user()
    other = app.test_client()
    AuthActions(other).login(other_user.email)
    with other.session_transaction() as s:
        live_sid = s["sid"]
    victim = app.test_client()
    with victim.session_transaction() as s:
        s["sid"] = live_sid
    user = make_user()
    AuthActions(victim).login(user.email)
    with victim.session_transaction() as s:
        assert s["sid"] != live_sid
    assert db.session.get(UserSession, s["sid"]).user_id == user.id
    page = victim.get("/").get_data(as_text=True)
    assert user.name in page and other_user.name not in page


def test_session_cookie_is_httponly_and_lax_even_in_development(app):
    client = app.test_client()
    resp = AuthActions(client).login(make_user().email)
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in header.split(";")[1:]}
    assert "httponly" in attrs and attrs.get("samesite", "").lower() == "samesite=lax"


def test_sign_out_clears_the_cookie_in_the_browser(app):
    client = app.test_client()
    AuthActions(client).login(make_user().email)
    resp = AuthActions(client).logout()
    cleared = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cleared, "sign-out sent no new session cookie"
    with client.session_transaction() as s:
        assert "sid" not in s  # the browser no longer holds the server session's id
    assert client.get("/").status_code == 302
