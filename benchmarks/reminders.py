"""Call-back reminder benchmark: open /events streams, reminders falling due (RESULTS.md)."""

import math
import os
import random
import re
import resource
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import common
import requests
from common import FIRST, LAST, db, pct, rss_mb
from sqlalchemy import func, select

from helpline.auth.models import User
from helpline.auth.services import hash_password
from helpline.callbacks import services as cb_services
from helpline.callbacks.models import CallBack
from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.demo import TEAMS
from helpline.notifications.models import Notification
from helpline.timeutil import utcnow

TARGET_P99 = 2.0
SEED = 20240720
PER_USER, WORKERS = 4, 2  # call backs per user; RQ worker processes
LEAD, TIMEOUT, GRACE = 20.0, 60.0, 5.0  # s to the first remind_at; for stragglers; for doubles
PASSWORD = "reminders-bench-password"
DOMAIN = "reminders-bench.example.org"
CB_LINK = re.compile(r'href="/callbacks/(\d+)"')
DATA_ID = re.compile(r'data-id="(\d+)"')


def make_people(n: int, rng: random.Random) -> list[dict]:
    """n volunteers, each with a contact and a case they own; committed."""
    users = common.make_volunteers(n, rng, DOMAIN, hash_password(PASSWORD), TEAMS)
    cases = [create_case(common.make_contact(user, "reminders-benchmark", rng.choice(FIRST),
                                             rng.choice(LAST), f"07700 9{i:05d}"),
                         "Food parcel needed", user) for i, user in enumerate(users)]
    db.session.commit()
    return [{"user_id": u.id, "email": u.email, "case_id": c.id}
            for u, c in zip(users, cases, strict=True)]


def make_callbacks(people: list[dict], spread: float,
                   rng: random.Random) -> tuple[list[dict], float, float]:
    """PER_USER call backs each (callbacks.services.create) due over `spread` s, committed; returns
    them (id, owner, remind_at as a Unix time), the anchor (likewise) and the seconds taken."""
    slots = [LEAD + rng.uniform(0, spread) for _ in range(len(people) * PER_USER)]
    t0, anchor, made = time.monotonic(), utcnow(), []
    rng.shuffle(slots)
    for p in people:
        user, case = db.session.get(User, p["user_id"]), db.session.get(Case, p["case_id"])
        for _ in range(PER_USER):
            start = anchor + timedelta(seconds=slots[len(made)]) + cb_services.REMINDER_BEFORE
            made.append((user.id, cb_services.create(case, cb_services.CallBackInput(
                contact_number=f"07700 9{len(made) + 1:05d}", call_received_at=anchor,
                description="Ring back about the food parcel", preferred_at=None, alarm=True,
                start_at=start, end_at=start + timedelta(minutes=30), informal=False,
                back_entry=True, owner="user", owner_user=user), user)))
    db.session.commit()
    return ([{"id": cb.id, "user_id": uid, "remind_at": utc_epoch(cb.remind_at)}
             for uid, cb in made], utc_epoch(anchor), time.monotonic() - t0)


def utc_epoch(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=timezone.utc).timestamp()


class Stream(threading.Thread):
    """One user's page holding /events open, reconnecting as EventSource does (retry,
    Last-Event-ID); records what arrives (time.time() at arrival) until `stop` is set."""

    def __init__(self, person: dict, cookie: str, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.user_id, self.url, self.stop = person["user_id"], url, stop
        self.cookie, self.last_id, self.opened = cookie, None, threading.Event()
        self.connects = self.keepalives = 0
        self.notifications: list[dict] = []  # every notification frame
        self.reminder_ids: list[str | None] = []  # the id of every 'reminder' event
        self.signed_out = False

    def run(self) -> None:
        self.retry = 2.0
        while not self.stop.is_set() and not self.signed_out:
            headers = {"Cookie": self.cookie, "Accept": "text/event-stream",
                       "X-Bench": f"events u{self.user_id}",  # the timing log: who, which pid
                       "Cache-Control": "no-cache", "Accept-Encoding": "gzip, deflate, br"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            try:
                with requests.get(self.url, headers=headers, stream=True, timeout=60) as resp:
                    if resp.status_code in (401, 403):
                        return
                    resp.raise_for_status()
                    resp.encoding = "utf-8"
                    self.connects += 1
                    self.read(resp.iter_lines(decode_unicode=True))
            except (requests.RequestException, ValueError):
                pass
            self.stop.wait(self.retry)

    def read(self, lines) -> None:
        event: dict = {}
        for line in lines:
            if self.stop.is_set():
                return
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if not line and event:  # the end of one event
                self.record(event)
                event = {}
            elif line and not key:  # a comment
                self.keepalives += 1
            elif key == "retry":
                self.retry = int(value) / 1000
                self.opened.set()
            elif key == "data" and "data" in event:
                event["data"] += "\n" + value
            elif line:
                event[key] = value

    def record(self, event: dict) -> None:
        name, html = event.get("event", "message"), event.get("data", "")
        self.last_id = event.get("id", self.last_id)
        if name == "notification":
            cb, nid = CB_LINK.search(html), DATA_ID.search(html)
            self.notifications.append({
                "at": time.time(), "id": int(nid.group(1)) if nid else None,
                "cb_id": int(cb.group(1)) if cb else None,
                "reminder": "hl-notification--reminder" in html})
        elif name == "reminder":
            self.reminder_ids.append(event.get("id"))
        elif name == "signed-out":
            self.signed_out = True


def tally(callbacks: list[dict], streams: list[Stream]) -> dict:
    """Match what arrived to what was due, and to what the database holds."""
    ids = [n["id"] for st in streams for n in st.notifications if n["id"]]
    created = dict(db.session.execute(select(Notification.id, Notification.created_at)
                                      .where(Notification.id.in_(ids))).all())
    per_cb = db.session.execute(select(Notification.url, func.count()).where(
        Notification.kind == "reminder", Notification.user_id.in_(
            {c["user_id"] for c in callbacks})).group_by(Notification.url)).all()
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
        cb["copies"] = len(arrivals)
        cb["arrived"] = arrivals[0]["at"] if arrivals else None
        stored = created.get(arrivals[0]["id"]) if arrivals else None
        cb["created_at"] = utc_epoch(stored) if stored else None
    out["reminder_events"] = sum(len(st.reminder_ids) for st in streams)
    out["reminder_ids"] = sum(len(set(st.reminder_ids)) for st in streams)
    out.update(states=dict(db.session.execute(select(CallBack.reminder_state, func.count())
                                              .where(CallBack.id.in_(by_cb))
                                              .group_by(CallBack.reminder_state)).all()),
               stored=sum(n for _, n in per_cb), stored_cbs=len(per_cb),
               double=sum(1 for _, n in per_cb if n > 1))
    return out


def report(callbacks: list[dict], streams: list[Stream], checks: dict, setting: dict) -> bool:
    common.header("call-back reminder", setting["load_before"])
    print(f"# embedded redis-server {setting['redis_version']}; {setting['setup']}; "
          f"REMINDER_POLL_SECONDS=0.5; SSE_KEEPALIVE_SECONDS={setting['keepalive']:.0f}")
    print(f"# RLIMIT_NOFILE soft {setting['fd_before']} -> {setting['fd_after']}")
    print(f"# {len(streams)} users signed in through /login in {setting['sign_in_s']:.1f} s; "
          f"{setting['opened']}/{len(streams)} /events streams open in {setting['open_s']:.1f} s")
    offs = [c["remind_at"] - setting["anchor"] for c in callbacks]
    print(f"# {len(callbacks)} call backs ({PER_USER} per user) created through "
          f"callbacks.services.create in {setting['create_s']:.1f} s; remind_at from "
          f"+{min(offs):.1f} s to +{max(offs):.1f} s after the anchor "
          f"(staggered, uniform over {setting['spread']:.0f} s)")
    print("# delay = arrival in the client (time.time()) - remind_at; worker lag = "
          "notification.created_at - remind_at; push = arrival - notification.created_at\n")
    arrived = [dict(c, delay=c["arrived"] - c["remind_at"]) for c in callbacks if c["arrived"]]
    stored = [c for c in arrived if c["created_at"] is not None]
    delays = [c["delay"] for c in arrived]
    for label, xs in (("delay remind_at -> client", delays),
                      ("  worker lag (poll + claim)",
                       [c["created_at"] - c["remind_at"] for c in stored]),
                      ("  push (commit -> SSE -> client)",
                       [c["arrived"] - c["created_at"] for c in stored])):
        print(common.spread(label, xs))
    if arrived:
        quarter = max(1, math.ceil(len(arrived) / 4))
        ordered = [c["delay"] for c in sorted(arrived, key=lambda c: c["remind_at"])]
        print("by quarter of the schedule (p50 / p99 / max delay): " + "; ".join(
            " / ".join(common.cells(ordered[i:i + quarter], (.5, .99, 1), 3)) + " s"
            for i in range(0, len(ordered), quarter)))
        print("slowest: " + common.slowest(
            arrived, "delay", lambda c: f"cb {c['id']} (user {c['user_id']}) {c['delay']:.3f} s"))
    due, mem, opened = len(callbacks), setting["rss"], setting["opened"]
    missing = [c for c in callbacks if c["copies"] == 0]
    dup_cb = [c for c in callbacks if c["copies"] > 1]
    grew = mem["after"] - mem["before"]
    print("\n".join([
        f"\ndelivered: {len(arrived)} of {due} due (distinct call backs reminded on their "
        "owner's stream)",
        f"missing: {len(missing)}; duplicated call backs (two notifications for one call back): "
        f"{len(dup_cb)}; the same notification twice on a stream: {len(checks['dup_frames'])}; "
        f"wrong recipient: {len(checks['wrong'])}; other notifications: {len(checks['strays'])}",
        f"'reminder' SSE events: {checks['reminder_events']} ({checks['reminder_ids']} distinct "
        f"ids per stream), expected {due}",
        f"database: call backs by reminder_state {checks['states']}; reminder notifications "
        f"stored {checks['stored']} for {checks['stored_cbs']} call backs"
        + (f"; call backs with more than one: {checks['double']}" if checks["double"] else ""),
        f"\nstreams: {sum(st.connects for st in streams)} connections for {len(streams)} users "
        f"({sum(max(0, st.connects - 1) for st in streams)} reconnects); keepalive comments "
        f"received {sum(st.keepalives for st in streams)}; "
        f"signed out: {sum(st.signed_out for st in streams)}",
        f"\nweb process (gunicorn worker pid {setting['web_pid']}) VmRSS: {mem['before']:.1f} MB "
        f"before the streams, {mem['after']:.1f} MB with {opened} streams open (+{grew:.1f} MB, "
        f"{grew * 1024 / max(1, opened):.0f} KB per stream), peak {mem['peak']:.1f} MB during "
        f"the reminders, {mem['end']:.1f} MB at the end; open fds {setting['fds_after']}",
        f"gunicorn master VmRSS {mem['master']:.1f} MB; worker(s) VmRSS "
        + ", ".join(f"{m:.1f} MB" for m in mem["workers"]),
        "\nper web process (pid: streams held, reminders delivered once / due on them): "
        + "; ".join(f"{k}: {v[0]}, {v[2]}/{v[1]}" for k, v in setting["by_process"].items())]))
    ok = not missing and not dup_cb and not checks["dup_frames"] and not checks["wrong"]
    p99 = pct(delays, .99)
    setting["result"] = {"due": due, "delivered": len(arrived), "missing": len(missing),
                         "duplicates": len(dup_cb) + len(checks["dup_frames"]), "ok": ok,
                         "p99": p99, "by_process": setting["by_process"]}
    print(f"\ndelay p99 <= {TARGET_P99:.0f} s: " + (
        f"{'yes' if p99 <= TARGET_P99 else 'NO'} ({p99:.3f} s); delivered == due with no "
        f"duplicates: {'yes' if ok else 'NO'}" if delays and not missing
        else f"NO ({len(missing)} reminder(s) never arrived)"))
    return ok


def by_process(callbacks: list[dict], timing: list) -> dict[str, list[int]]:
    """pid: the streams it held last (timing log), the reminders due on them, those that
    arrived once."""
    holder = {p[7].split(" u")[-1]: p[1] for p in timing if p[7].startswith("events u")}
    out: dict[str, list[int]] = {pid: [n, 0, 0] for pid, n in Counter(holder.values()).items()}
    for c in callbacks:
        if (pid := holder.get(str(c["user_id"]))) is not None:
            out[pid][1:] = [out[pid][1] + 1, out[pid][2] + (c["copies"] == 1)]
    return out


def main() -> int:
    # --users: each with a stream; --spread: s over which they fall due; --stack: a running
    # stack's file (common.Stack.write_attach: scaleout.py's N web processes behind nginx)
    args = common.options(__doc__, users=500, spread=150.0, stack=None, json=None)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # children inherit it
    want = max(4096, args.users * 4 + 512)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
    setting = {"spread": args.spread, "fd_before": soft,
               "fd_after": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
    stop = threading.Event()
    with common.Stack(None, "reminders", workers=WORKERS, catcher=False, timing=True,
                      attach=args.stack, REMINDER_POLL_SECONDS="0.5") as stack:
        stack.flask("db", "upgrade")
        stack.start("--appendonly", "no", "--maxclients", "10000")
        app = stack.app(BASE_URL=stack.base_url)
        rng = random.Random(SEED)
        with app.app_context():
            people = make_people(args.users, rng)
        print(f"# {len(people)} users with a contact and a case each; signing them in", flush=True)
        t0 = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            cookies = list(pool.map(
                lambda p: common.http_sign_in(stack.base_url, p["email"], PASSWORD), people))
        streams = [Stream(p, c, stack.base_url + "/events", stop)
                   for p, c in zip(people, cookies, strict=True)]
        setting["sign_in_s"] = time.monotonic() - t0
        setting["web_pid"] = web_pid = stack.web_pids[0]  # the (first) gunicorn worker
        time.sleep(1)
        rss = setting["rss"] = {"before": rss_mb(web_pid)}
        t0 = time.monotonic()
        for i in range(0, len(streams), 50):  # at most 50 connecting at once
            for st in streams[i:i + 50]:
                st.start()
            for st in streams[i:i + 50]:
                st.opened.wait(60)
        setting.update(opened=sum(st.opened.is_set() for st in streams),
                       open_s=time.monotonic() - t0)
        time.sleep(2)  # let the server settle (every stream has done its first read)
        rss["after"] = rss_mb(web_pid)
        setting["fds_after"] = len(os.listdir(f"/proc/{web_pid}/fd"))
        setting["load_before"] = os.getloadavg()[0]
        with app.app_context():
            callbacks, setting["anchor"], setting["create_s"] = make_callbacks(
                people, args.spread, rng)
        last_due = max(c["remind_at"] for c in callbacks)
        print(f"# {len(callbacks)} call backs created; waiting", flush=True)
        peak, next_print, end = rss["after"], time.time() + 15, last_due + TIMEOUT
        while (now := time.time()) <= end:  # until all arrived (+ grace) or the timeout
            peak = max(peak, rss_mb(web_pid) or 0)
            got = sum(1 for st in streams for n in st.notifications if n["reminder"])
            if got >= len(callbacks) and now > last_due:
                end = min(end, now + GRACE)
            if now >= next_print:
                print(f"  {got:>5}/{len(callbacks)} reminders received "
                      f"({max(0, last_due - now):.0f} s of schedule left)", flush=True)
                next_print = now + 15
            time.sleep(0.25)
        stop.set()
        rss.update(peak=peak, end=rss_mb(web_pid), master=rss_mb(stack.masters[0]),
                   workers=[rss_mb(pid) or 0 for pid in stack.worker_pids])
        with app.app_context():
            checks = tally(callbacks, streams)
        setting.update(redis_version=stack.redis_version,
                       keepalive=app.config["SSE_KEEPALIVE_SECONDS"],
                       by_process=by_process(callbacks, stack.timing()), setup=stack.setup())
        ok = report(callbacks, streams, checks, setting)
        common.write_json(args.json, setting["result"])
        common.close(app)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
