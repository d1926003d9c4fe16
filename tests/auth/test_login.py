"""Sign-in, sign-out, throttling, idle timeout, deactivation and server-side sessions."""
from datetime import timedelta

from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.auth.models import User, UserSession
from helpline.extensions import db
from tests.factories import make_user


def test_login_page_has_the_labels_users_expect(client):
    html = client.get("/login").get_data(as_text=True)
    assert ">\n    Email\n" in html or "Email" in html
    assert "Password" in html
    assert "Sign in" in html


def test_good_password_signs_in_and_shows_home(client, auth):
    user = make_user(name="Angie Greenaway-Samuel")
    resp = auth.login(user.email)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Angie Greenaway-Samuel" in home
    db.session.refresh(user)
    assert user.latest_authentication is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sign-in"))


def test_email_is_case_insensitive(client, auth):
    user = make_user(email="maggie.evans@example.org")
    assert auth.login("Maggie.Evans@Example.org").status_code == 302


def test_bad_password_is_refused_with_a_message_and_keeps_the_email(client, auth):
    user = make_user()
    resp = auth.login(user.email, "wrong password")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Enter a correct email address and password." in html
    assert "Error: Sign in" in html
    assert f'value="{user.email}"' in html
    assert client.get("/").status_code == 302  # still not signed in


def test_empty_form_says_what_is_missing(client):
    from tests.conftest import csrf_token
    resp = client.post("/login", data={"csrf_token": csrf_token(client)})
    html = resp.get_data(as_text=True)
    assert "Enter your email address" in html
    assert "Enter your password" in html


def _time_passes(seconds: float) -> None:
    """Move every throttle clock back, as if `seconds` had gone by."""
    from helpline.auth.models import LoginAttempt, LoginThrottle
    for row in db.session.scalars(select(LoginThrottle)):
        row.next_allowed_at -= timedelta(seconds=seconds)
        if row.last_failure_at:
            row.last_failure_at -= timedelta(seconds=seconds)
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at -= timedelta(seconds=seconds)
    db.session.commit()


def test_failed_sign_ins_make_the_account_wait_not_lock(app, client, auth):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    app.config["ACCOUNT_HELP"] = "the duty manager on 0161 496 0000"
    user = make_user()
    for _ in range(3):
        assert auth.login(user.email, "nope").status_code == 422
    resp = auth.login(user.email)  # even the right password waits now
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Too many failed sign-in attempts for this account. Wait 2 seconds" in html
    assert "the duty manager on 0161 496 0000" in html
    _time_passes(2)
    assert auth.login(user.email).status_code == 302


def test_failed_sign_ins_are_throttled_per_address(app, client, auth):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    good = make_user()
    for i in range(4):
        auth.login(f"guess{i}@example.org", "nope")
    resp = auth.login(good.email)
    assert resp.status_code == 422
    assert "Too many failed sign-in attempts from this computer" in resp.get_data(as_text=True)
    _time_passes(2)
    assert auth.login(good.email).status_code == 302


def test_throttle_lapses_after_the_window(app, client, auth):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 2
    user = make_user()
    auth.login(user.email, "nope")
    auth.login(user.email, "nope")
    _time_passes(16 * 60)
    assert auth.login(user.email).status_code == 302


def test_deactivated_user_cannot_sign_in(client, auth):
    user = make_user(active=False)
    resp = auth.login(user.email)
    assert resp.status_code == 422
    assert "deactivated" in resp.get_data(as_text=True)


def test_sign_in_starts_a_new_server_session(client, auth):
    user = make_user()
    auth.login(user.email)
    with client.session_transaction() as s:
        first = s["sid"]
    auth.logout()
    auth.login(user.email)
    with client.session_transaction() as s:
        second = s["sid"]
    assert first != second
    assert db.session.get(UserSession, first).ended_at is not None


def test_sign_out_really_ends_the_session(app, client, auth):
    user = make_user()
    auth.login(user.email)
    with client.session_transaction() as s:
        stolen = dict(s)  # a copy of the signed cookie, as an attacker might keep
    resp = auth.logout()
    assert resp.status_code == 302
    assert client.get("/").status_code == 302
    other = app.test_client()
    with other.session_transaction() as s:
        s.update(stolen)
    assert other.get("/").status_code == 302  # the old cookie is worthless


def test_idle_timeout_signs_out(app, client, auth):
    user = make_user()
    auth.login(user.email)
    assert client.get("/").status_code == 200
    sess = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    sess.last_seen_at -= timedelta(minutes=31)
    db.session.commit()
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    db.session.refresh(sess)
    assert sess.end_reason == "idle timeout"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "You have been signed out" in page


def test_idle_timeout_is_configurable(app, client, auth):
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    user = make_user()
    auth.login(user.email)
    sess = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    sess.last_seen_at -= timedelta(minutes=6)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_deactivating_a_user_ends_their_open_session(app, client, auth):
    user = make_user()
    auth.login(user.email)
    assert client.get("/").status_code == 200
    from helpline.auth.services import set_active
    admin = make_user("admin")
    set_active(db.session.get(User, user.id), False, admin)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_admin_end_sessions_button_signs_the_user_out(app, client, auth):
    victim = make_user()
    victim_client = app.test_client()
    from tests.conftest import AuthActions, csrf_token
    AuthActions(victim_client).login(victim.email)
    assert victim_client.get("/").status_code == 200
    admin = make_user("admin")
    auth.login(admin.email)
    token = csrf_token(client, "/admin/users")
    resp = client.post(f"/admin/users/{victim.id}/end-sessions", data={"csrf_token": token},
                       follow_redirects=True)
    assert "Ended 1 session(s)" in resp.get_data(as_text=True)
    assert victim_client.get("/").status_code == 302


def test_next_parameter_only_allows_local_paths(client, auth):
    user = make_user()
    from tests.conftest import csrf_token
    token = csrf_token(client)
    resp = client.post("/login?next=https://evil.example/", data={
        "csrf_token": token, "email": user.email, "password": "correct horse battery"})
    assert resp.headers["Location"] == "/"
