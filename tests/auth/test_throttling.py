"""Must show 3: sign-in throttling cannot be raced, and never locks the owner out."""
import threading
from datetime import timedelta

from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.auth import throttle
from helpline.auth.models import LoginAttempt, LoginThrottle
from helpline.extensions import db
from tests.conftest import AuthActions, at_the_same_moment
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
    assert throttle.failures(throttle.account_key(owner.email, "127.0.0.1")) == 20
    assert throttle.failures(throttle.address_key("127.0.0.1")) == 20
    # the failed sign-ins page lists the 5 checked failures; the 15 told to wait are audited
    assert db.session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False))) == 5
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
    assert throttle.failures(throttle.account_key(owner.email, "127.0.0.1")) == 0  # success forgets


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


def _sign_in_form(app, ip: str, email: str, password: str = "correct horse battery"):
    """A browser on another computer (its own address) with the sign-in form filled in;
    returns the Sign in press, to make now or in a thread."""
    from tests.conftest import csrf_token
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    data = {"csrf_token": csrf_token(c, "/login"), "email": email, "password": password}
    return lambda: c.post("/login", data=data)


def _sign_in_from(app, ip: str, email: str, password: str = "correct horse battery"):
    return _sign_in_form(app, ip, email, password)()


def test_a_guesser_elsewhere_never_keeps_the_owner_out(app):
    """Review finding: a guesser taking every slot kept the owner out indefinitely. The
    account's waits are per address: the guesser only slows themselves."""
    app.config["LOGIN_DELAY_SECONDS"] = 60
    owner = make_user(name="Allison Bates")
    for _ in range(12):  # the free failures, then refusals, from the guesser's computer
        assert _sign_in_from(app, "10.9.9.9", owner.email, "wrong guess").status_code == 422
    assert "Wait" in _sign_in_from(app, "10.9.9.9", owner.email).get_data(as_text=True)
    # the owner at their own desk gets straight in, while the guesser is still waiting
    assert _sign_in_from(app, "10.0.0.5", owner.email).status_code == 302
    db.session.expire_all()
    assert throttle.failures(throttle.account_key(owner.email, "10.9.9.9")) >= 12


def test_colleagues_behind_one_address_are_not_kept_out_by_its_failures(app):
    """Review finding: refused attempts added to the shared address's count, and one
    in-flight check held the address for everyone. Refusals no longer count there and the
    address never holds a slot: once its wait has passed, colleagues sign in together."""
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 20
    staff = [make_user(name=f"Colleague {n}") for n in range(5)]
    for n in range(21):  # different accounts, so only the address counts up
        _sign_in_from(app, "192.0.2.1", f"nobody{n}@example.org", "wrong")
    db.session.expire_all()
    assert throttle.failures(throttle.address_key("192.0.2.1")) == 20  # the 21st waited
    refused = _sign_in_from(app, "192.0.2.1", staff[0].email)
    assert refused.status_code == 422 and "from this computer" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert throttle.failures(throttle.address_key("192.0.2.1")) == 20  # not counted
    _time_passes(app.config["LOGIN_MAX_DELAY_SECONDS"])
    presses = [_sign_in_form(app, "192.0.2.1", u.email) for u in staff]
    results = at_the_same_moment(lambda press: press(), [(p,) for p in presses])
    assert [r.status_code for r in results] == [302] * 5
    db.session.expire_all()
    assert throttle.failures(throttle.address_key("192.0.2.1")) <= 20
