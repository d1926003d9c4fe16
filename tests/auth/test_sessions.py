"""Must show 1 (server side): only deliberate requests keep a session alive; typing does;
an absolute lifetime ends any session. Time is controlled by moving the session's clocks
back, as if that long had passed."""
from datetime import timedelta

from sqlalchemy import select

from helpline.auth.models import UserSession
from helpline.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_user

PASSIVE = {"HX-Request": "true", "X-Helpline-Passive": "1"}


def _session(client) -> UserSession:
    with client.session_transaction() as s:
        sid = s["sid"]
    db.session.expire_all()
    return db.session.get(UserSession, sid)


def time_passes(client, minutes: float) -> None:
    """Everything this session remembers happened `minutes` earlier."""
    sess = _session(client)
    sess.created_at -= timedelta(minutes=minutes)
    sess.last_seen_at -= timedelta(minutes=minutes)
    db.session.commit()


def _open_stream(client) -> None:
    """The page's event stream connects (and the browser drops it, as on a reconnect)."""
    resp = client.get("/events", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    resp.close()


def test_an_open_page_streaming_and_polling_is_signed_out_after_the_idle_time(client, auth):
    sup = make_user("supervisor")
    auth.login(sup.email)
    assert client.get("/supervisor/dashboard").status_code == 200  # the page is opened
    # 29½ minutes with the page open: the dashboard polls every 30 s (htmx marks those
    # requests passive) and the event stream reconnects every 15 minutes ...
    for half_minute in range(59):
        time_passes(client, 0.5)
        poll = client.get("/supervisor/dashboard", headers=PASSIVE)
        assert poll.status_code == 200, f"signed out early, after {half_minute / 2} min"
        if half_minute % 30 == 0:
            _open_stream(client)
    # ... and a minute and a half later, 31 minutes after the last click, it is over.
    time_passes(client, 1.5)
    resp = client.get("/supervisor/dashboard", headers=PASSIVE)
    assert resp.status_code == 401 and resp.headers["HX-Redirect"].startswith("/login")
    sess = db.session.scalar(select(UserSession).where(UserSession.user_id == sup.id))
    assert sess.end_reason == "idle timeout"
    assert client.get("/").status_code == 302


def test_the_export_progress_poll_does_not_keep_a_session_alive(app, client, auth):
    from helpline.review.models import ExportBatch
    data = make_user("data")
    auth.login(data.email)
    batch = ExportBatch(created_by_id=data.id, filters={}, fmt="csv", status="running")
    db.session.add(batch)
    db.session.commit()
    before = _session(client).last_seen_at
    time_passes(client, 5)
    for _ in range(3):
        assert client.get(f"/review/export/{batch.id}", headers=PASSIVE).status_code \
            in (200, 286)
    assert _session(client).last_seen_at == before - timedelta(minutes=5)


def test_the_event_stream_says_signed_out_when_the_idle_time_is_up(app, client, auth):
    user = make_user()
    auth.login(user.email)
    resp = client.get("/events", buffered=False)
    time_passes(client, 31)
    seen = b""
    for chunk in resp.response:
        seen += chunk
        if b"signed-out" in seen:
            break
    resp.close()
    assert b"event: signed-out" in seen


def test_a_click_is_activity(client, auth):
    user = make_user()
    auth.login(user.email)
    for _ in range(4):
        time_passes(client, 20)
        assert client.get("/").status_code == 200  # a deliberate page load, every 20 min
    assert client.get("/notifications").status_code == 200


def test_typing_for_forty_minutes_without_a_request_keeps_the_session(client, auth):
    user = make_user()
    auth.login(user.email)
    token = csrf_token(client, "/interactions/new")
    # session.js sends a keep-alive at most once a minute while the user types.
    for _minute in range(40):
        time_passes(client, 1)
        resp = client.post("/session/keep-alive", headers={"X-CSRFToken": token})
        assert resp.status_code == 204
    assert client.get("/interactions/new").status_code == 200
    assert _session(client).ended_at is None


def test_the_keep_alive_needs_the_csrf_token_and_a_live_session(client, auth):
    user = make_user()
    auth.login(user.email)
    assert client.post("/session/keep-alive").status_code == 400
    token = csrf_token(client, "/")
    time_passes(client, 31)
    resp = client.post("/session/keep-alive", headers={"X-CSRFToken": token,
                                                       "HX-Request": "true"})
    assert resp.status_code == 401  # too late: the page reloads to the sign-in page


def test_an_absolute_lifetime_ends_even_a_busy_session(app, client, auth):
    app.config["SESSION_MAX_HOURS"] = 2
    user = make_user()
    auth.login(user.email)
    for _ in range(11):
        time_passes(client, 10)
        assert client.get("/").status_code == 200
    time_passes(client, 11)
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    sess = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert sess.end_reason == "lifetime"
    assert "You have been signed out" in client.get(resp.headers["Location"]).get_data(
        as_text=True)


def test_a_post_bounced_by_a_timeout_comes_back_to_its_page(client, auth):
    user = make_user()
    auth.login(user.email)
    token = csrf_token(client, "/interactions/new")
    time_passes(client, 31)
    resp = client.post("/interactions/new", data={"csrf_token": token},
                       headers={"Referer": "http://localhost/interactions/new"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/interactions/new"


def test_pages_carry_what_the_session_script_needs(client, auth):
    user = make_user()
    auth.login(user.email)
    html = client.get("/").get_data(as_text=True)
    assert f'data-user="{user.id}"' in html and 'data-idle-seconds="1800"' in html
    assert 'data-keep-alive="/session/keep-alive"' in html
    assert 'id="hl-timeout"' in html and "Stay signed in" in html
    assert "js/session.js" in html
    auth.logout()
    assert "data-login-page" in client.get("/login").get_data(as_text=True)
