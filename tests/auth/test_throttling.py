"""Must show 3: sign-in throttling cannot be raced, and never locks the owner out."""
import threading
from datetime import timedelta

from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.auth import throttle
from helpline.auth.models import LoginAttempt, LoginThrottle
from helpline.extensions import db
from tests.conftest import AuthActions
from tests.factories import make_user


def _time_passes(seconds: float) -> None:
    """Move every throttle clock back, as if `seconds` had gone by."""
    for row in db.session.scalars(select(LoginThrottle)):
        row.next_allowed_at -= timedelta(seconds=seconds)
        if row.last_failure_at:
            row.last_failure_at -= timedelta(seconds=seconds)
    db.session.commit()


def _parallel_wrong_passwords(app, email: str, n: int) -> list[int]:
    """n clients, each with its own session and CSRF token, post at the same moment."""
    clients = [app.test_client() for _ in range(n)]
    tokens = []
    from tests.conftest import csrf_token
    for c in clients:
        tokens.append(csrf_token(c, "/login"))
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(c, token):
        barrier.wait()
        resp = c.post("/login", data={"csrf_token": token, "email": email,
                                      "password": "not the password"})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt, args=(c, t)) for c, t in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def test_twenty_parallel_wrong_passwords_count_as_twenty(app, client):
    # A first wait longer than the burst takes, so no later attempt is let in legitimately.
    app.config["LOGIN_DELAY_SECONDS"] = 60
    app.config["LOGIN_MAX_DELAY_SECONDS"] = 120
    owner = make_user(name="Angie Greenaway-Samuel")
    statuses = _parallel_wrong_passwords(app, owner.email, 20)
    assert statuses == [422] * 20
    db.session.expire_all()
    assert throttle.failures(throttle.account_key(owner.email)) == 20
    assert throttle.failures(throttle.address_key("127.0.0.1")) == 20
    assert db.session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False))) == 20
    audited = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "sign-in failed", AuditEntry.field.is_(None)
        | (AuditEntry.field == "email"))))
    assert len(audited) == 20 and all(a.record_id == str(owner.id) for a in audited)
    # Only the free attempts (5) reached the password check; the rest were made to wait.
    checked = [a for a in audited if a.reason.startswith("wrong password")]
    assert len(checked) == 5
    assert len([a for a in audited if a.reason.startswith("delayed")]) == 15

    # The owner, with the right password, is told to wait (no hard lock) ...
    auth = AuthActions(client)
    refused = auth.login(owner.email)
    assert refused.status_code == 422
    assert "Wait" in refused.get_data(as_text=True)
    # ... and gets in once the delay has passed.
    _time_passes(app.config["LOGIN_MAX_DELAY_SECONDS"])
    resp = auth.login(owner.email)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert throttle.failures(throttle.account_key(owner.email)) == 0  # success forgets


def test_the_delay_grows_but_is_capped(app, client, auth):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 2
    app.config["LOGIN_MAX_DELAY_SECONDS"] = 10
    user = make_user()
    waits = []
    for _ in range(6):
        resp = auth.login(user.email, "wrong")
        assert resp.status_code == 422
        latest = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "sign-in failed").order_by(AuditEntry.id.desc()).limit(1))
        waits.append(latest.reason)
        _time_passes(60)
    assert waits == ["wrong password"] + [f"wrong password; next attempt waits {s} s"
                                          for s in (2, 4, 8, 10, 10)]


def test_admins_and_supervisors_see_recent_failures(app, client, auth):
    victim = make_user(email="target@example.org")
    for _ in range(3):
        auth.login(victim.email, "guess")
    auth.login(make_user("supervisor").email)
    assert "/sign-in-failures" in client.get("/supervisor/dashboard").get_data(as_text=True)
    html = client.get("/sign-in-failures").get_data(as_text=True)
    assert "target@example.org" in html and "127.0.0.1" in html
    assert ">3<" in html.replace(" ", "").replace("\n", "")
    auth.logout()
    auth.login(make_user("volunteer").email)
    assert client.get("/sign-in-failures").status_code == 403
