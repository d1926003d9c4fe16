"""Screen-pop benchmark (issue 20): newCall posted → the "call" event delivered on every
open page's /events stream (the page then fetches its panel), p99 at 50 calls a minute.

    .venv/bin/python benchmarks/screen_pop.py --pages 500 --users 50 --calls 30 --ring 5
Target: p99 ≤ 1 s with 500 open pages. Runs `make run`'s processes (gunicorn + gevent, Redis)
on a throwaway SQLite database; every page belongs to a signed-in volunteer (pages / users
each). Each call names --ring volunteers in user[] (a queue's worth); --ring 0 names nobody,
so it rings for every signed-in volunteer and reaches every page (the worst case).
"""
import http.client
import os
import random
import threading
import time
import urllib.request

import common
from common import db, pct

from helpline.auth.services import hash_password
from helpline.demo import TEAMS
from helpline.telephony import services

PASSWORD = "screen-pop-bench-password"


def open_stream(port: int, cookie: str, arrivals: list, ready: threading.Event) -> None:
    """Hold one page's event stream; note when each "call" event arrives."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", "/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    resp = conn.getresponse()
    ready.set()
    while line := resp.readline():
        if line.rstrip() == b"event: call":  # not "event: callbacks"
            arrivals.append(time.monotonic())


def main() -> None:
    args = common.options(__doc__, pages=500, users=50, calls=30, per_minute=50.0, ring=5)
    random.seed(1)  # the same calls and rings each run
    with common.Stack(None, "screen-pop", workers=0, catcher=False) as stack:
        stack.start()
        stack.flask("db", "upgrade")
        app = common.make_app(stack.env["DATABASE_URL"])
        with app.app_context():
            users = common.make_volunteers(args.users, random.Random(1), "pop.example.org",
                                           hash_password(PASSWORD), TEAMS)
            token = services.rotate_token(users[0])
            db.session.commit()
            emails = [u.email for u in users]
        common.close(app)
        load_before = os.getloadavg()[0]
        cookies = [common.http_sign_in(stack.base_url, e, PASSWORD) for e in emails]
        pages = []
        for i in range(args.pages):
            arrivals, ready = [], threading.Event()
            threading.Thread(target=open_stream, daemon=True, args=(
                stack.web_port, cookies[i % len(cookies)], arrivals, ready)).start()
            ready.wait(30)
            pages.append(arrivals)
        time.sleep(2)  # every stream subscribed
        url, sent, rings = f"{stack.base_url}/telephony/{token}", [], []
        for n in range(args.calls):
            rings.append(set(random.sample(range(args.users), args.ring)) if args.ring
                         else set(range(args.users)))
            named = "".join(f"&user[]={emails[u]}" for u in sorted(rings[-1]) if args.ring)
            data = (f"event=newCall&from=07700900{n % 1000:03d}&to=01632960000&direction=in"
                    f"&callId=bench-{n}{named}").encode()
            sent.append(time.monotonic())
            with urllib.request.urlopen(url, data=data, timeout=30) as resp:
                assert resp.status == 201, resp.status
            time.sleep(random.expovariate(args.per_minute / 60.0))
        time.sleep(3)  # the last deliveries
        lat, lost = [], 0
        for i, arrivals in enumerate(pages):  # one call event per call ringing here, in order
            expected = [t for t, r in zip(sent, rings, strict=True) if i % len(emails) in r]
            lost += max(0, len(expected) - len(arrivals))
            lat += [a - t for a, t in zip(arrivals, expected, strict=False)]
        p99 = pct(lat, 0.99)
        common.header(f"screen-pop: {args.pages} open pages, {args.users} volunteers, "
                      f"{args.calls} calls at {args.per_minute:g} a minute", load_before)
        common.table([("deliveries", 11), ("lost", 5), ("p50 ms", 8), ("p95 ms", 8),
                      ("p99 ms", 8), ("max ms", 8)],
                     [[len(lat), lost, *common.cells([x * 1000 for x in lat], (.5, .95, .99)),
                       common.fmt(max(lat) * 1000)]])
        print(f"target p99 ≤ 1000 ms: {'met' if p99 <= 1.0 and not lost else 'NOT met'}")


if __name__ == "__main__":
    main()
