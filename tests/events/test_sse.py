"""Events published for a user reach their open stream fast, and are replayed after a reconnect."""
import time

from helpline.extensions import db
from helpline.notifications.services import notify, notify_team
from tests.conftest import wait_until
from tests.events.sse_client import Browserish, EventStream
from tests.factories import PASSWORD, make_user


def _signed_in(live_server, user) -> Browserish:
    b = Browserish(live_server.url)
    b.login(user.email, PASSWORD)
    return b


def test_stream_needs_a_signed_in_user(live_server):
    stream = EventStream(live_server.url, "/events", cookie="")
    assert stream.status == 401
    stream.close()


def test_an_event_arrives_within_one_second(app, live_server):
    user = make_user(name="Elliot Hunter")
    b = _signed_in(live_server, user)
    stream = EventStream(live_server.url, "/events", b.cookie_header())
    assert stream.status == 200
    broker = app.extensions["broker"]
    wait_until(lambda: broker.subscriber_count() == 1)
    started = time.monotonic()
    notify([user], "You have been assigned to the Helpline Interaction INT39100")
    db.session.commit()
    ev = stream.next_event("notification", timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert "INT39100" in ev["data"]
    assert int(ev["id"]) > 0
    count = stream.next_event("unread", timeout=1.0)
    assert 'data-count="1"' in count["data"]
    stream.close()


def test_other_users_do_not_receive_it(app, live_server):
    me, other = make_user(), make_user(team="Night Shift")
    stream = EventStream(live_server.url, "/events", _signed_in(live_server, me).cookie_header())
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    notify([other], "Not for you")
    notify([me], "For you")
    db.session.commit()
    ev = stream.next_event("notification")
    assert "For you" in ev["data"]
    stream.close()


def test_team_events_reach_team_members(app, live_server):
    me = make_user(team="Call Back Team")
    stream = EventStream(live_server.url, "/events", _signed_in(live_server, me).cookie_header())
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    notify_team(me.teams[0], "New call-back request awaiting allocation")
    db.session.commit()
    assert "awaiting allocation" in stream.next_event("notification")["data"]
    stream.close()


def test_a_reconnecting_page_gets_what_it_missed(app, live_server):
    user = make_user()
    b = _signed_in(live_server, user)
    stream = EventStream(live_server.url, "/events", b.cookie_header())
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    notify([user], "First")
    db.session.commit()
    first = stream.next_event("notification")
    stream.close()  # the page loses its connection...
    notify([user], "Second (while away)")
    notify([user], "Third (while away)")
    db.session.commit()
    # ...htmx opens a NEW EventSource with the last id it saw in the URL
    again = EventStream(live_server.url, f"/events?last_id={first['id']}", b.cookie_header())
    assert "Second (while away)" in again.next_event("notification")["data"]
    assert "Third (while away)" in again.next_event("notification")["data"]
    again.close()
    # the browser's own reconnect sends Last-Event-ID instead
    third = EventStream(live_server.url, "/events", b.cookie_header(), last_event_id=first["id"])
    assert "Second (while away)" in third.next_event("notification")["data"]
    third.close()


def test_events_stored_while_redis_was_down_still_arrive(app, live_server, redis_server):
    user = make_user()
    b = _signed_in(live_server, user)
    stream = EventStream(live_server.url, "/events", b.cookie_header())
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    redis_server.stop()
    try:
        notify([user], "Saved while Redis was down")
        db.session.commit()  # the save succeeds; the push is lost...
    finally:
        redis_server.start()
    # ...but the stream re-reads the database at its next keepalive
    assert "Saved while Redis was down" in stream.next_event("notification", timeout=5)["data"]
    stream.close()


def test_signing_out_ends_the_stream(app, live_server):
    user = make_user()
    b = _signed_in(live_server, user)
    stream = EventStream(live_server.url, "/events", b.cookie_header())
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 1)
    from helpline.auth.services import end_all_sessions
    end_all_sessions(user, "test")
    db.session.commit()
    stream.next_event("signed-out", timeout=3)
    assert stream.closed.wait(3)
