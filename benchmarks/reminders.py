"""Call-back reminder benchmark: open /events streams, reminders falling due (RESULTS.md)."""
from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common
from common import FIRST, LAST, db, pct, rss_mb
from sqlalchemy import func, select

from helpline.auth.models import User
from helpline.auth.services import create_user, hash_password
from helpline.callbacks import services as cb_services
from helpline.callbacks.models import CallBack
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.contacts.services import create_contact
from helpline.demo import TEAMS
from helpline.notifications.models import Notification
from helpline.timeutil import utcnow

TARGET_P99 = 2.0
SEED = 20240720
PASSWORD = "reminders-bench-password"
DOMAIN = "reminders-bench.example.org"
CB_LINK = re.compile(r'href="/callbacks/(\d+)"')
DATA_ID = re.compile(r'data-id="(\d+)"')


def web_worker(master: int) -> int:
    """The one gunicorn worker: the process whose parent is the master (read from /proc)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:  # pid (comm) state ppid ...: comm may hold spaces
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                kids.append(int(entry))
        if len(kids) == 1:
            return kids[0]
        time.sleep(0.1)
    raise SystemExit(f"expected one gunicorn worker under pid {master}")


def make_people(n: int, rng: random.Random) -> list[dict]:
    """n volunteers, each with a contact and a case they own; committed."""
    pw_hash = hash_password(PASSWORD)  # once: shared by everyone
    people = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        login = re.sub(r"[ ']", "", f"{first}.{last}").lower()
        user = create_user(f"{login}.{i + 1}@{DOMAIN}", f"{first} {last}", "volunteer", "",
                           team=TEAMS[i % len(TEAMS)], password_hash=pw_hash)
        contact = create_contact({
            "consent_status": "Consent given", "consent_given_by": "The Caller for themselves",
            "first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
            "phone": f"07700 9{i:05d}", "postcode": "B1 1AA", "postcode_area": "B",
            "region": "West Midlands"}, user, session_id="reminders-benchmark")
        case = create_case(contact, "Food parcel needed", user)
        people.append({"user": user, "case": case})
    db.session.commit()
    return [{"user_id": p["user"].id, "email": p["user"].email, "case_id": p["case"].id}
            for p in people]


def make_callbacks(people: list[dict], per_user: int, offsets: list[float],
                   rng: random.Random) -> tuple[list[dict], datetime, float]:
    """per_user call backs each through callbacks.services.create, committed; returns them (id,
    owner, remind_at), the anchor and the seconds taken."""
    t0, anchor, slots, made = time.monotonic(), utcnow(), list(offsets), []
    rng.shuffle(slots)
    for p in people:
        user, case = db.session.get(User, p["user_id"]), db.session.get(Case, p["case_id"])
        for _ in range(per_user):
            start = anchor + timedelta(seconds=slots[len(made)]) + cb_services.REMINDER_BEFORE
            made.append((user.id, cb_services.create(case, cb_services.CallBackInput(
                contact_number=f"07700 9{len(made) + 1:05d}",
                description="Ring back about the food parcel", call_received_at=anchor,
                preferred_at=None, alarm=True, start_at=start,
                end_at=start + timedelta(minutes=30), informal=False, back_entry=True,
                owner="user", owner_user=user), user)))
    db.session.commit()
    return ([{"id": cb.id, "user_id": uid, "remind_at": cb.remind_at} for uid, cb in made],
            anchor, time.monotonic() - t0)


def utc_epoch(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=timezone.utc).timestamp()


# --- the SSE clients ----------------------------------------------------------------------------

@dataclass
class Stream:
    """One user's page: its cookie, what it received, its connections."""

    user_id: int
    email: str
    cookie: str = ""
    last_id: str | None = None
    opened: asyncio.Event | None = None
    connects: int = 0
    errors: list[str] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)   # every notification frame
    reminder_events: list[tuple[float, str | None]] = field(default_factory=list)
    keepalives: int = 0
    signed_out: bool = False


async def read_body(reader: asyncio.StreamReader, chunked: bool):
    """Yield (arrival time, bytes) as the body comes in (chunked or not)."""
    while True:
        if chunked:
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await reader.readexactly(size + 2)
            yield time.time(), data[:-2]
        else:
            data = await reader.read(65536)
            if not data:
                return
            yield time.time(), data


async def run_stream(st: Stream, host: str, port: int, stop: asyncio.Event) -> None:
    """Hold the /events stream open; reconnect like EventSource (retry, Last-Event-ID)."""
    retry = 2.0
    while not stop.is_set() and not st.signed_out:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            head = (f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {st.cookie}\r\n"
                    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
                    "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n")
            if st.last_id is not None:
                head += f"Last-Event-ID: {st.last_id}\r\n"
            writer.write((head + "\r\n").encode())
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split()
            status = int(parts[1]) if len(parts) > 1 else 0
            headers = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                key, _, value = line.decode("latin-1").partition(":")
                headers[key.strip().lower()] = value.strip()
            if status != 200:
                st.errors.append(f"HTTP {status}")
                if status in (401, 403):
                    return
                raise ConnectionError(f"HTTP {status}")
            if headers.get("content-encoding"):
                st.errors.append(f"compressed stream: {headers['content-encoding']}")
                return
            st.connects += 1
            buf = b""
            ev: dict = {}
            async for at, data in read_body(reader, "chunked" in
                                            headers.get("transfer-encoding", "").lower()):
                buf += data
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if not line:  # end of one event
                        if ev:
                            handle_event(st, ev, at)
                        ev = {}
                    elif line.startswith(":"):
                        st.keepalives += 1
                    else:
                        key, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if key == "data":
                            ev["data"] = ev.get("data", "") + ("\n" if "data" in ev else "") \
                                + value
                        elif key == "retry":
                            retry = int(value) / 1000
                            if st.opened is not None:
                                st.opened.set()
                        else:
                            ev[key] = value
            st.errors.append("stream ended by the server")
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            st.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            if writer is not None:
                writer.close()
        if not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=retry)
            except asyncio.TimeoutError:
                pass


def handle_event(st: Stream, ev: dict, at: float) -> None:
    """Record one SSE event for this stream."""
    name = ev.get("event", "message")
    if "id" in ev:
        st.last_id = ev["id"]
    if name == "notification":
        html = ev.get("data", "")
        cb = CB_LINK.search(html)
        nid = DATA_ID.search(html)
        st.notifications.append({
            "at": at, "sse_id": ev.get("id"), "id": int(nid.group(1)) if nid else None,
            "cb_id": int(cb.group(1)) if cb else None,
            "reminder": "hl-notification--reminder" in html})
    elif name == "reminder":
        st.reminder_events.append((at, ev.get("id")))
    elif name == "signed-out":
        st.signed_out = True


class Clients:
    """The asyncio loop holding every stream, on a thread of its own."""

    def __init__(self, host: str, port: int, streams: list[Stream]) -> None:
        self.host, self.port, self.streams = host, port, streams
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="sse-clients")
        self.stop_event: asyncio.Event | None = None
        self.tasks: list[asyncio.Task] = []

    def start(self, open_timeout: float, concurrency: int) -> tuple[int, float]:
        """Open every stream (at most `concurrency` connecting at once); (open, seconds)."""
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self._open(open_timeout, concurrency),
                                                self.loop).result()

    async def _open(self, open_timeout: float, concurrency: int) -> tuple[int, float]:
        self.stop_event = asyncio.Event()
        gate = asyncio.Semaphore(concurrency)
        t0 = time.monotonic()

        async def one(st: Stream) -> None:
            st.opened = asyncio.Event()
            async with gate:
                self.tasks.append(asyncio.ensure_future(
                    run_stream(st, self.host, self.port, self.stop_event)))
                try:
                    await asyncio.wait_for(st.opened.wait(), timeout=open_timeout)
                except asyncio.TimeoutError:
                    pass

        await asyncio.gather(*(one(st) for st in self.streams))
        return sum(1 for st in self.streams if st.opened.is_set()), time.monotonic() - t0

    def close(self) -> None:
        if not self.thread.is_alive():
            return

        async def _close():
            if self.stop_event is not None:
                self.stop_event.set()
            for t in self.tasks:
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_close(), self.loop).result(timeout=20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def sign_in_all(base_url: str, streams: list[Stream], threads: int) -> float:
    """Sign every user in through /login; returns seconds taken."""
    t0 = time.monotonic()

    def one(st: Stream) -> None:
        st.cookie = common.http_sign_in(base_url, st.email, PASSWORD)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, streams))
    return time.monotonic() - t0


# --- reporting ---------------------------------------------------------------------------------

def summary(label: str, xs: list[float]) -> str:
    return f"{label:<34} n=0" if not xs else (
        f"{label:<34} n={len(xs):<5} min {min(xs):6.3f}  p50 {pct(xs, .5):6.3f}  "
        f"p95 {pct(xs, .95):6.3f}  p99 {pct(xs, .99):6.3f}  max {max(xs):6.3f}  "
        f"mean {statistics.fmean(xs):6.3f} s")


def tally(callbacks: list[dict], streams: list[Stream], created: dict[int, datetime]) -> dict:
    """Match what arrived to what was due."""
    by_cb = {c["id"]: c for c in callbacks}
    got: dict[int, list[dict]] = {c["id"]: [] for c in callbacks}
    out: dict = {"dup_frames": [], "wrong": [], "strays": []}
    for st in streams:
        seen: set[int] = set()
        for n in st.notifications:
            cb = by_cb.get(n["cb_id"])
            kind = ("dup_frames" if n["id"] in seen  # the same notification twice on one page
                    else "strays" if cb is None or not n["reminder"]
                    else "wrong" if cb["user_id"] != st.user_id else None)
            seen.add(n["id"])
            if kind:
                out[kind].append((st.user_id, n))
            else:
                got[cb["id"]].append(n)
    for cb in callbacks:
        arrivals = sorted(got[cb["id"]], key=lambda n: n["at"])
        cb["copies"], cb["notification_ids"] = len(arrivals), [n["id"] for n in arrivals]
        cb["arrived"] = arrivals[0]["at"] if arrivals else None
        cb["created_at"] = created.get(arrivals[0]["id"]) if arrivals else None
    out["reminder_events"] = sum(len(st.reminder_events) for st in streams)
    out["reminder_ids"] = sum(len({i for _, i in st.reminder_events}) for st in streams)
    return out


def report(callbacks: list[dict], streams: list[Stream], checks: dict, setting: dict,
           db_state: dict) -> bool:
    common.header("call-back reminder", setting["load_before"])
    print(f"# embedded redis-server {setting['redis_version']}; SQLite {setting['sqlite']} "
          f"(WAL); gunicorn -k gevent -w 1 --worker-connections 1000; {setting['workers']} "
          f"worker(s) (python -m helpline.worker, REMINDER_POLL_SECONDS=0.5); "
          f"SSE_KEEPALIVE_SECONDS={setting['keepalive']:.0f}")
    print(f"# RLIMIT_NOFILE soft {setting['fd_before']} -> {setting['fd_after']}")
    print(f"# {len(streams)} users signed in through /login in {setting['sign_in_s']:.1f} s; "
          f"{setting['opened']}/{len(streams)} /events streams open in {setting['open_s']:.1f} s")
    offs = [utc_epoch(c["remind_at"]) - utc_epoch(setting["anchor"]) for c in callbacks]
    print(f"# {len(callbacks)} call backs ({setting['per_user']} per user) created through "
          f"callbacks.services.create in {setting['create_s']:.1f} s; remind_at from "
          f"+{min(offs):.1f} s to +{max(offs):.1f} s after the anchor "
          f"(staggered, uniform over {setting['spread']:.0f} s)")
    print("# delay = arrival in the client (time.time()) - remind_at; worker lag = "
          "notification.created_at - remind_at; push = arrival - notification.created_at\n")
    arrived = [c for c in callbacks if c["arrived"] is not None]
    for c in arrived:
        c["delay"] = c["arrived"] - utc_epoch(c["remind_at"])
    delays = [c["delay"] for c in arrived]
    print(summary("delay remind_at -> client", delays))
    print(summary("  worker lag (poll + claim)", [
        utc_epoch(c["created_at"]) - utc_epoch(c["remind_at"]) for c in arrived
        if c["created_at"] is not None]))
    print(summary("  push (commit -> SSE -> client)", [
        c["arrived"] - utc_epoch(c["created_at"]) for c in arrived if c["created_at"] is not None]))
    if arrived:
        quarter = max(1, math.ceil(len(arrived) / 4))
        ordered = sorted(arrived, key=lambda c: c["remind_at"])
        print("by quarter of the schedule (p50 / p99 / max delay): " + "; ".join(
            f"{pct(d, .5):.3f} / {pct(d, .99):.3f} / {max(d):.3f} s"
            for d in ([c["delay"] for c in ordered[i:i + quarter]]
                      for i in range(0, len(ordered), quarter))))
        print("slowest: " + "; ".join(f"cb {c['id']} (user {c['user_id']}) {c['delay']:.3f} s"
                                      for c in sorted(arrived, key=lambda c: -c["delay"])[:5]))
    due = len(callbacks)
    missing = [c for c in callbacks if c["copies"] == 0]
    dup_cb = [c for c in callbacks if c["copies"] > 1]
    print(f"\ndelivered: {len(arrived)} of {due} due (distinct call backs reminded on their "
          f"owner's stream)")
    print(f"missing: {len(missing)}; duplicated call backs (two notifications for one call "
          f"back): {len(dup_cb)}; the same notification twice on a stream: "
          f"{len(checks['dup_frames'])}; wrong recipient: {len(checks['wrong'])}; other "
          f"notifications: {len(checks['strays'])}")
    print(f"'reminder' SSE events: {checks['reminder_events']} ({checks['reminder_ids']} "
          f"distinct ids per stream), expected {due}")
    print(f"database: call backs by reminder_state {db_state['states']}; reminder "
          f"notifications stored {db_state['stored']} for {db_state['stored_cbs']} call backs"
          + (f"; call backs with more than one: {db_state['double']}" if db_state["double"]
             else ""))
    print(f"\nstreams: {sum(st.connects for st in streams)} connections for {len(streams)} "
          f"users ({sum(max(0, st.connects - 1) for st in streams)} reconnects); keepalive "
          f"comments received {sum(st.keepalives for st in streams)}; signed out: "
          f"{sum(st.signed_out for st in streams)}")
    mem, opened = setting["rss"], setting["opened"]
    print(f"\nweb process (gunicorn worker pid {setting['web_pid']}) VmRSS: "
          f"{mem['before']:.1f} MB before the streams, {mem['after']:.1f} MB with "
          f"{opened} streams open (+{mem['after'] - mem['before']:.1f} MB, "
          f"{(mem['after'] - mem['before']) * 1024 / max(1, opened):.0f} KB per "
          f"stream), peak {mem['peak']:.1f} MB during the reminders, {mem['end']:.1f} MB at "
          f"the end; open fds {setting['fds_after']}")
    print(f"gunicorn master VmRSS {mem['master']:.1f} MB; worker(s) VmRSS "
          + ", ".join(f"{m:.1f} MB" for m in mem["workers"]))
    ok = not missing and not dup_cb and not checks["dup_frames"] and not checks["wrong"]
    p99 = pct(delays, .99)
    print(f"\ndelay p99 <= {TARGET_P99:.0f} s: " + (
        f"{'yes' if p99 <= TARGET_P99 else 'NO'} ({p99:.3f} s); delivered == due with no "
        f"duplicates: {'yes' if ok else 'NO'}" if delays and not missing
        else f"NO ({len(missing)} reminder(s) never arrived)"))
    return ok


def main() -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--per-user", type=int, default=4, help="call backs per user")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--lead", type=float, default=20,
                        help="seconds from creating the call backs to the first remind_at")
    parser.add_argument("--spread", type=float, default=150,
                        help="seconds over which the reminders fall due (default 150)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds after the last remind_at to wait for stragglers")
    parser.add_argument("--grace", type=float, default=5,
                        help="seconds to keep listening for duplicates once all arrived")
    parser.add_argument("--sign-in-threads", type=int, default=4)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # children inherit it
    want = max(4096, args.users * 4 + 512)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    fd_before, fd_after = soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    tmp = Path(tempfile.mkdtemp(prefix="helpline-reminders-"))
    stack = common.Stack(f"sqlite:///{tmp / 'reminders.db'}", tmp, workers=args.workers,
                         catcher=False, REMINDER_POLL_SECONDS="0.5")
    app = clients = None
    ok = False
    try:
        stack.flask("db", "upgrade")
        stack.start("--appendonly", "no", "--maxclients", "10000")
        web_pid = web_worker(stack.web_proc.pid)
        print(f"# redis :{stack.redis_port}, web :{stack.web_port} (master {stack.web_proc.pid}, "
              f"worker {web_pid}), {args.workers} worker(s) ready after {stack.waited:.1f} s; "
              f"temp dir {tmp}", flush=True)
        app = common.make_app(stack.env["DATABASE_URL"], REDIS_URL=stack.env["REDIS_URL"],
                              BASE_URL=stack.base_url)
        logging.getLogger().setLevel(logging.WARNING)
        rng = random.Random(SEED)
        with app.app_context():
            people = make_people(args.users, rng)
            db.session.remove()
        print(f"# {len(people)} users with a contact and a case each; signing them in",
              flush=True)
        streams = [Stream(p["user_id"], p["email"]) for p in people]
        sign_in_s = sign_in_all(stack.base_url, streams, args.sign_in_threads)
        time.sleep(1)
        rss = {"before": rss_mb(web_pid)}
        print(f"# signed in in {sign_in_s:.1f} s; web worker VmRSS {rss['before']:.1f} MB; "
              f"opening {len(streams)} /events streams", flush=True)
        clients = Clients("127.0.0.1", stack.web_port, streams)
        opened, open_s = clients.start(open_timeout=60, concurrency=50)
        time.sleep(2)  # let the server settle (every stream has done its first read)
        rss["after"] = rss_mb(web_pid)
        fds_after = len(os.listdir(f"/proc/{web_pid}/fd"))
        print(f"# {opened}/{len(streams)} streams open in {open_s:.1f} s; web worker VmRSS "
              f"{rss['after']:.1f} MB, {fds_after} open fds", flush=True)

        n_cb = args.users * args.per_user
        offsets = [args.lead + rng.uniform(0, args.spread) for _ in range(n_cb)]
        load_before = os.getloadavg()[0]
        with app.app_context():
            callbacks, anchor, create_s = make_callbacks(people, args.per_user, offsets, rng)
            db.session.remove()
        first_due = min(c["remind_at"] for c in callbacks)
        last_due = utc_epoch(max(c["remind_at"] for c in callbacks))
        print(f"# {len(callbacks)} call backs created in {create_s:.1f} s; due from "
              f"{first_due:%H:%M:%S} to {max(c['remind_at'] for c in callbacks):%H:%M:%S} UTC; "
              "waiting", flush=True)
        peak, next_print, all_in_at = rss["after"], time.time() + 15, None
        while True:
            now = time.time()
            peak = max(peak, rss_mb(web_pid) or 0)
            got = sum(1 for st in streams for n in st.notifications if n["reminder"])
            if got >= n_cb and now > last_due and all_in_at is None:
                all_in_at = now
            if all_in_at is not None and now > all_in_at + args.grace:
                break
            if now > last_due + args.timeout:
                print(f"# timed out {args.timeout:.0f} s after the last remind_at with "
                      f"{got}/{n_cb} reminder notifications in", flush=True)
                break
            if now >= next_print:
                print(f"  {got:>5}/{n_cb} reminders received "
                      f"({max(0, last_due - now):.0f} s of schedule left)", flush=True)
                next_print = now + 15
            time.sleep(0.25)
        rss.update(peak=peak, end=rss_mb(web_pid), master=rss_mb(stack.web_proc.pid),
                   workers=[rss_mb(w.pid) or 0 for w in stack.worker_procs])
        clients.close()

        with app.app_context():
            ids = [n["id"] for st in streams for n in st.notifications if n["id"]]
            created = dict(db.session.execute(select(Notification.id, Notification.created_at)
                                              .where(Notification.id.in_(ids))).all())
            states = dict(db.session.execute(select(CallBack.reminder_state,
                                                    func.count(CallBack.id))
                                             .group_by(CallBack.reminder_state)).all())
            per_cb = db.session.execute(select(Notification.url, func.count(Notification.id))
                                        .where(Notification.kind == "reminder")
                                        .group_by(Notification.url)).all()
            db.session.remove()
        db_state = {"states": states, "stored": sum(n for _, n in per_cb),
                    "stored_cbs": len(per_cb), "double": sum(1 for _, n in per_cb if n > 1)}
        checks = tally(callbacks, streams, created)
        for name, proc, _sig in stack.procs:
            if proc.poll() is not None:
                print(f"warning: {name} exited early with code {proc.returncode}")
        setting = {"redis_version": stack.redis_version, "sqlite": sqlite3.sqlite_version,
                   "workers": args.workers, "keepalive": app.config["SSE_KEEPALIVE_SECONDS"],
                   "fd_before": fd_before, "fd_after": fd_after, "load_before": load_before,
                   "sign_in_s": sign_in_s, "opened": opened, "open_s": open_s,
                   "per_user": args.per_user, "create_s": create_s, "anchor": anchor,
                   "spread": args.spread, "rss": rss, "web_pid": web_pid,
                   "fds_after": fds_after}
        ok = report(callbacks, streams, checks, setting, db_state)
    finally:
        if clients is not None:
            try:
                clients.close()
            except Exception as exc:  # never skip stopping the children
                print(f"closing the SSE clients failed: {exc}")
        common.close(app)
        print("\n" + stack.stop())
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
