"""newCall reaches the ringing users' open streams within a second (once, however often the
PBX repeats it), and only theirs."""
import time

import pytest

from tests.conftest import wait_until
from tests.events.sse_client import Browserish, EventStream
from tests.factories import PASSWORD, make_user
from tests.telephony.helpers import ring


def _stream(live_server, user) -> EventStream:
    b = Browserish(live_server.url)
    b.login(user.email, PASSWORD)
    return EventStream(live_server.url, "/events", b.cookie_header())


def test_new_call_reaches_the_ringing_users_streams_within_a_second(app, client, live_server,
                                                                    line):
    outsider = make_user("volunteer", name="Not Ringing")
    sam, kim, out = (_stream(live_server, u) for u in (line["sam"], line["kim"], outsider))
    broker = app.extensions["broker"]
    wait_until(lambda: broker.subscriber_count() == 3)
    started = time.monotonic()
    assert ring(client, line["token"], number="447700900123").status_code == 201
    for stream in (sam, kim):
        ev = stream.next_event("call", timeout=1.0)
        assert "/telephony/panel" in ev["data"] and 'hx-target="#call-panel"' in ev["data"]
    assert time.monotonic() - started < 1.0
    for _ in range(3):  # the PBX repeats itself: no second pop
        assert ring(client, line["token"], number="447700900123").status_code == 200
    with pytest.raises(AssertionError):
        sam.next_event("call", timeout=0.5)
    with pytest.raises(AssertionError):
        out.next_event("call", timeout=0.2)
    for stream in (sam, kim, out):
        stream.close()
