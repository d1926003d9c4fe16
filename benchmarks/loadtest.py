# ruff: noqa: I001  (Locust patches the standard library with gevent on import: it goes first)
"""Load test: simulated volunteers doing the call flow against `make run`'s stack (RESULTS.md)."""

import locust  # noqa: F401
import gevent
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

import contextlib
import itertools
import os
import random
import re
import time
import urllib.parse
from collections import defaultdict
from datetime import date

import common
from common import pct
from sqlalchemy import func, select

from helpline.contacts.models import Contact

BARE_PATH = "/healthz"
TARGET_P95_MS = 150.0
THINK, BLOCK = (2.0, 8.0), 20.0  # s before every step; of each A/B block
THINKS = 10  # think times in one call flow: a volunteer finishes at most one per 50 s
SPAWN_RATE = 2.0  # volunteers signing in per second (at 10/s their password hashes queue up)
CONTACT_LINK = re.compile(r'href="/contacts/(\d+)"')
SIGNPOST_I = re.compile(r'name="signposts-(\d+)-category"')
REFERRAL_I = re.compile(r'name="referrals-(\d+)-type"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"')
TITLES, NOTES = common.DATA["flow_titles"], common.DATA["flow_notes"]


class Shared:
    """What the users draw from (set before the run), the A/B phase and the tallies."""
    names: list[tuple[str, str]] = []
    categories: list[int] = []
    types: dict[int, list] = {}  # response type id: its extra fields
    accounts = 200         # volunteer.001 .. volunteer.NNN exist (dataset.py --volunteers)
    phase = "ramp"         # "ramp", "A<n>", "B<n>", "end"
    numbers, blocks = itertools.count(1), itertools.count(1)
    client: list[tuple[str, str, float, bool]] = []  # phase, step, client ms, succeeded
    flows_done = signed_in = 0
    retried = 0            # requests re-sent after finding a keep-alive socket closed
    lost = 0               # signed-in requests sent to /login: a session not found
    problems: dict[str, int] = defaultdict(int)


def load_knowledge(url: str, count: int, seed: int) -> None:
    """Names of real contacts to search for; signpost categories; referral types + fields."""
    rng = random.Random(seed)
    app = common.make_app(url)
    with app.app_context():
        lo, hi = common.db.session.execute(select(func.min(Contact.id), func.max(Contact.id))).one()
        ids = {rng.randint(lo, hi) for _ in range(count * 3)}
        rows = common.db.session.execute(select(Contact.first_name, Contact.last_name).where(
            Contact.active, Contact.last_name.is_not(None), Contact.id.in_(sorted(ids)))).all()
        Shared.names = [(f, ln) for f, ln in rows if f and ln][:count]
        lists, fields = common.lookup_lists()
    common.close(app)
    Shared.categories = lists["signpost_category"]
    Shared.types = {t: fields.get(t, []) for t in lists["local_response_type"]}
    if not Shared.names:
        raise SystemExit("no named contacts in the database: run benchmarks/dataset.py first")


class Problem(Exception):
    """A response that lacked what the next step needs (counted as an error)."""


class Volunteer(FastHttpUser):
    """One volunteer at a phone: signs in once, then takes calls one after another."""

    wait_time = constant(0)  # think time is inside the flow, before every step
    connection_timeout = network_timeout = 60.0

    def on_start(self) -> None:
        self.n = n = next(Shared.numbers)
        self.rng = random.Random(n)
        self.email = common.VOLUNTEER_EMAIL.format((n - 1) % Shared.accounts + 1)
        self.csrf = ""
        self.think()
        try:
            self.sign_in()
        finally:
            Shared.signed_in += 1  # (or gave up): the ramp-up waits for every user

    def think(self) -> None:
        gevent.sleep(self.rng.uniform(*THINK))

    def headers(self, htmx: bool = False) -> dict:
        return {"X-Bench": f"{Shared.phase} v{self.n}", "Accept-Encoding": "gzip",
                **({"HX-Request": "true", "X-CSRFToken": self.csrf} if htmx else {})}

    def hold_for_b_blocks(self) -> None:
        """During a B block, request the bare route instead of the next step."""
        while Shared.phase.startswith("B"):
            with contextlib.suppress(Problem):  # a failure is counted; the block goes on
                self.step("bare " + BARE_PATH, "GET", BARE_PATH, think=False)
            self.think()

    def step(self, name: str, method: str, path: str, *, htmx: bool = False,
             form: list[tuple[str, str]] | None = None, expect: int = 200,
             think: bool = True) -> str:
        """Think, then one request; returns the body (or the Location of a redirect)."""
        if think:
            self.think()
            self.hold_for_b_blocks()
        headers = self.headers(htmx)
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            phase, t0 = Shared.phase, time.perf_counter()  # client time: queueing included
            with self.client.request(method, path, name=name, data=body, headers=headers,
                                     allow_redirects=False, catch_response=True) as resp:
                # gunicorn closes a keep-alive connection idle for 2 s; a browser that finds
                # its reused socket closed before any response sends the request again.
                if resp.status_code == 0 and "closed" in str(resp.error) and attempt == 1:
                    resp.success()
                    Shared.retried += 1
                    continue
                Shared.client.append((phase, name, (time.perf_counter() - t0) * 1000,
                                      resp.status_code == expect))
                Shared.lost += (not name.startswith("sign in")
                                and "/login" in resp.headers.get("Location", ""))
                if resp.status_code != expect:
                    resp.failure(f"{resp.status_code} (expected {expect}) {resp.error or ''}")
                    break
                if expect == 302:
                    return resp.headers.get("Location", "")
                token = common.CSRF.search(resp.text or "")
                self.csrf = token.group(1) if token else self.csrf
                return resp.text or ""
        raise Problem(name)

    def sign_in(self) -> None:
        self.step("sign in: GET /login", "GET", "/login", think=False)
        where = self.step("sign in: POST /login", "POST", "/login", think=False, expect=302, form=[
            ("csrf_token", self.csrf), ("email", self.email), ("password", common.BENCH_PASSWORD)])
        if "/login" in where:
            raise Problem("sign in refused")

    @task
    def take_a_call(self) -> None:
        try:
            self.flow()
            Shared.flows_done += 1
        except Problem as exc:
            Shared.problems[str(exc)] += 1

    def flow(self) -> None:
        rng = self.rng
        first, last = rng.choice(Shared.names)
        self.step("home: GET /", "GET", "/")
        # "Search this view" fires as the volunteer types (300 ms debounce): two queries.
        self.step("search (fragment)", "GET", "/?" + urllib.parse.urlencode(
            {"q": last[:3], "letter": ""}), htmx=True)
        rows = self.step("search (fragment)", "GET", "/?" + urllib.parse.urlencode(
            {"q": f"{first} {last[:4]}", "letter": ""}), htmx=True, think=False)
        found = CONTACT_LINK.search(rows)
        if not found:
            Shared.problems["search found nothing"] += 1
            return
        contact = found.group(1)
        self.step("contact: GET /contacts/<id>", "GET", f"/contacts/{contact}")
        self.step("verify: POST /contacts/<id>/verify", "POST", f"/contacts/{contact}/verify",
                  expect=302, form=[("csrf_token", self.csrf), ("details", "Name"),
                                    ("details", "Postcode")])
        self.step("contact: GET /contacts/<id>", "GET", f"/contacts/{contact}", think=False)
        self.step("new case: GET /cases/new/<id>", "GET", f"/cases/new/{contact}")
        html = self.step("signpost row (fragment)", "GET", "/cases/rows/signpost", htmx=True)
        s_index = SIGNPOST_I.search(html)
        html = self.step("referral row (fragment)", "GET", "/cases/rows/referral", htmx=True)
        r_index = REFERRAL_I.search(html)
        if not (s_index and r_index):
            raise Problem("row fragment without its input")
        si, ri = s_index.group(1), r_index.group(1)
        type_id = rng.choice(list(Shared.types))
        self.step("referral extra (fragment)", "GET", "/cases/rows/referral-extra?"
                  + urllib.parse.urlencode({"i": ri, f"referrals-{ri}-type": type_id}), htmx=True)
        form = [("csrf_token", self.csrf), ("title", rng.choice(TITLES)),
                ("who_requires_support", "The person who called"), ("beneficiary_id", ""),
                ("psychosocial_support", "no"), ("safeguarding_activated", "no"),
                ("ready_for_review", "no"), ("note", rng.choice(NOTES)), ("version", ""),
                ("loaded_at", ""), (f"signposts-{si}-category", str(rng.choice(Shared.categories))),
                (f"referrals-{ri}-type", str(type_id)),
                (f"referrals-{ri}-status", "Sent to local team"), ("submit", "Save")]
        form += [(f"referrals-{ri}-x-{f.id}", common.field_value(f, rng, date.today()))
                 for f in Shared.types[type_id]]
        where = self.step("save: POST /cases/new/<id>", "POST", f"/cases/new/{contact}",
                          form=form, expect=302)
        case = re.search(r"/cases/(\d+)", where)
        if not case:
            raise Problem("save did not lead to the case")
        page = self.step("case: GET /cases/<id>", "GET", f"/cases/{case.group(1)}", think=False)
        version = VERSION.search(page)
        self.step("add note (fragment)", "POST", f"/cases/{case.group(1)}/notes", htmx=True,
                  form=[("note", "Called back: the caller is happy with the referral."),
                        ("version", (version.group(1) or version.group(2)) if version else "")])


def run_locust(host: str, levels: list[int], seconds: float) -> tuple[Environment, list]:
    """For each number of volunteers in turn: ramp up to it, then alternate A/B blocks for
    `seconds`; returns the env and each level's blocks, flows and load average."""
    env = Environment(user_classes=[Volunteer], host=host, events=events)
    runner, out = env.create_local_runner(), []
    for users in levels:
        Shared.phase = "ramp"
        runner.start(users, spawn_rate=SPAWN_RATE)
        # Signing in hashes a password (deliberately slow, ~0.3 s of CPU each): 200 of them
        # would spill into the measured blocks, so they start only once everyone is in.
        t0 = time.time()
        while Shared.signed_in < users and time.time() - t0 < 600:
            gevent.sleep(0.5)
        gevent.sleep(THINK[1])  # first steps under way
        print(f"  ramp-up {time.time() - t0:.0f} s ({users} volunteers at {SPAWN_RATE}/s, "
              f"{Shared.signed_in} signed in)", flush=True)
        level = {"users": users, "blocks": [], "flows": -Shared.flows_done,
                 "load_before": os.getloadavg()[0]}
        t_end = time.time() + seconds
        while time.time() < t_end - 1:
            n = next(Shared.blocks)
            for kind in ("A", "B"):
                length = min(BLOCK, max(1.0, t_end - time.time()))
                Shared.phase = f"{kind}{n}"
                start = time.time()
                gevent.sleep(length)
                level["blocks"].append({"label": Shared.phase, "start": start, "end": time.time()})
                print(f"  block {Shared.phase:<4} done; {env.stats.total.num_requests:,} requests,"
                      f" {env.stats.total.num_failures} failures so far", flush=True)
        level.update(flows=level["flows"] + Shared.flows_done, load_after=os.getloadavg()[0])
        out.append(level)
    Shared.phase = "end"
    runner.quit()
    return env, out


def summarise(records: list[dict], level: dict, webs: int) -> dict:
    """One level: per-endpoint server times (timing log) over the A blocks, the bare route over
    the B; client times; flows against what the think times allow; who served whom."""
    blocks, users = level["blocks"], level["users"]
    mine = {b["label"] for b in blocks}
    records = [r for r in records if r["phase"] in mine]
    secs = {k: sum(b["end"] - b["start"] for b in blocks if b["label"].startswith(k)) for k in "AB"}
    a = [r for r in records if r["phase"].startswith("A")]
    b_all = [r for r in records if r["phase"].startswith("B")]
    bare = [r["ms"] for r in b_all if r["endpoint"] == "main.healthz"]
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in a:
        groups[f"{r['method']} {r['endpoint']}"].append(r)
    rows = []
    for key, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        ms = [r["ms"] for r in rs]
        rows.append({"endpoint": key, "n": len(rs), "rps": len(rs) / (secs["A"] or 1),
                     "p50": pct(ms, .5), "p95": pct(ms, .95), "p99": pct(ms, .99),
                     "x_bare_p50": pct(ms, .5) / pct(bare, .5),
                     "x_bare_p95": pct(ms, .95) / pct(bare, .95),
                     "errors": sum(1 for r in rs if r["status"] >= "400")})
    client = [c for c in Shared.client if c[0] in mine]
    steps: dict[str, list[float]] = defaultdict(list)
    for phase, name, ms, _ok in client:
        if phase.startswith("A") or name.startswith("bare"):
            steps[name].append(ms)
    served: dict[str, set] = defaultdict(set)  # volunteer: the processes that served them
    pages: dict[str, int] = defaultdict(int)  # process: signed-in pages served (200)
    for r in records:
        if r["status"] == "200" and r["endpoint"] not in ("auth.login", "main.healthz"):
            served[r["who"]].add(r["pid"])
            pages[r["pid"]] += 1
    return {
        "users": users, "seconds": secs["A"] + secs["B"], "block": BLOCK, "think": list(THINK),
        "web_workers": webs, "a_requests": len(a), "a_rps": len(a) / (secs["A"] or 1),
        "b_requests": len(b_all), "b_rps": len(bare) / (secs["B"] or 1),
        "server_errors": sum(1 for r in records if r["status"] >= "500"),
        "bare": {"n": len(bare), **{f"p{q}": pct(bare, q / 100) for q in (50, 95, 99)}},
        "a_all": {f"p{q}": pct([r["ms"] for r in a], q / 100) for q in (50, 95, 99)},
        "client": {k: [len(v), *(pct(v, q) for q in (.5, .95, .99))] for k, v in steps.items()},
        "client_all": [pct([c[2] for c in client if c[0][0] == "A" and not c[1].startswith("bare")],
                            q) for q in (.5, .95, .99)],
        "failed": sum(1 for c in client if not c[3]), "endpoints": rows,
        "flows": level["flows"], "allowed": users * secs["A"] / (THINKS * sum(THINK) / 2),
        "pages_by_process": dict(pages), "volunteers": len(served),
        "spread": sum(1 for s in served.values() if len(s) > 1),
        "everywhere": sum(1 for s in served.values() if len(s) == len(pages) > 1),
        "load": [level["load_before"], level["load_after"]]}


def report(lt: dict) -> None:
    """The RESULTS.md section and its target verdicts (into lt), printed."""
    c, stopped, fmt, ca = lt["client_total"], sum(lt["problems"].values()), common.fmt, \
        lt["client_all"]
    L = [f"{lt['users']} simulated volunteers (Locust FastHttpUser), think time "
         f"{lt['think'][0]:g}–{lt['think'][1]:g} s before every step, {lt['setup']}. "
         f"{lt['seconds']:.0f} s of alternating {lt['block']:.0f} s "
         f"blocks after the ramp-up: A = the call flow, B = the same users requesting "
         f"the bare route `/healthz` instead. Load average (1 min) "
         f"{lt['load'][0]:.2f} → {lt['load'][1]:.2f}.", "",
         f"- A blocks: {lt['a_requests']:,} requests, **{lt['a_rps']:.1f} req/s**; "
         f"B blocks: {lt['b_requests']:,} requests, {lt['b_rps']:.1f} req/s.",
         f"- **{lt['flows']} call flows completed** of about {lt['allowed']:.0f} that the "
         f"think times allow in the A blocks ({lt['flows'] / max(1, lt['allowed']):.0%}; "
         f"{THINKS} think times of {sum(THINK) / 2:g} s on average per flow).",
         "- Bare route server time (B blocks): " + ", ".join(
             f"p{q} {fmt(lt['bare'][f'p{q}'], 2)} ms" for q in (50, 95, 99)) + ".",
         "- **Client-side** response time of the flow requests (A blocks; from sending to the "
         "last byte in the load generator, queueing included): " + ", ".join(
             f"p{q} {fmt(v)} ms" for q, v in zip((50, 95, 99), ca, strict=True)) + ".",
         f"- Errors: **{c['failures']}** failed requests (client side), "
         f"{lt['server_errors']} server 5xx, flows stopped: {lt['problems'] or 'none'}.",
         f"- Requests re-sent once after finding a keep-alive socket closed (as a browser "
         f"does): {lt['retried']}; signed-in requests sent to sign in: {lt['lost_sessions']}.",
         f"- Signed-in pages (200) per web process (pid: pages): {lt['pages_by_process']}; "
         f"of {lt['volunteers']} volunteers, {lt['spread']} were served by more than one "
         f"process and {lt['everywhere']} by every one.", "",
         "Server service time per endpoint over the A blocks (helpline/timing.py: from "
         "Flask's WSGI entry to the response, compression included; ms):\n"]
    rows = [(f"`{r['endpoint']}`", r["n"], f"{r['rps']:.1f}", *(fmt(r[k]) for k in (
        "p50", "p95", "p99", "x_bare_p50", "x_bare_p95")), r["errors"]) for r in lt["endpoints"]]
    rows.append(("all flow requests", lt["a_requests"], f"{lt['a_rps']:.1f}",
                 *(fmt(lt["a_all"][k]) for k in ("p50", "p95", "p99")), "", "", ""))
    L += common.md_table("endpoint | requests | req/s | p50 | p95 | p99 | p50 ÷ bare p50 | "
                         "p95 ÷ bare p95 | errors", "l r r r r r r r r", rows)
    L += ["", "(`POST auth.login` is the one-off sign-in with its deliberately slow password "
          "hash; it is not held to the page target.)", "",
          "Client-side response time per step (A blocks; the bare route: B blocks; ms):\n"]
    L += common.md_table("step | requests | p50 | p95 | p99", "l r r r r", [
        (k, v[0], *(fmt(x) for x in v[1:])) for k, v in lt["client"].items()])
    knee = lt["knee"] = max((s["users"] for s in lt["series"] if s["client_all"][1]
                             <= TARGET_P95_MS and not s["failed"]), default=0)
    if len(lt["series"]) > 1:
        L += ["", f"Volunteers in turn (the knee: **{knee}** volunteers at client p95 ≤ "
              f"{TARGET_P95_MS:.0f} ms with no failed request):\n"]
        L += common.md_table("volunteers | flow req/s | server p95 | client p95 | failed | "
                             "flows / allowed | load average", "r r r r r r l", [
            (s["users"], f"{s['a_rps']:.1f}", fmt(s["a_all"]["p95"]), fmt(s["client_all"][1]),
             s["failed"], f"{s['flows']} / {s['allowed']:.0f}",
             " → ".join(f"{x:.2f}" for x in s["load"])) for s in lt["series"]])
    lt["verdicts"] = [("200 volunteers, 0 errors", c["failures"] + stopped == 0
                       and lt["users"] >= 200, f"{lt['users']} volunteers, "
                       f"{c['failures']} failed requests, {stopped} flows stopped"),
                      (f"1,000 volunteers at client p95 ≤ {TARGET_P95_MS:.0f} ms (the knee)",
                       knee >= 1000, f"knee {knee} volunteers over " + ", ".join(
                           str(s["users"]) for s in lt["series"]))]
    pages = [r for r in lt["endpoints"] if r["endpoint"] != "POST auth.login"]
    if pages:
        worst = max(pages, key=lambda r: r["p95"])
        lt["verdicts"].append((f"p95 ≤ {TARGET_P95_MS:.0f} ms for every page and fragment",
                               worst["p95"] <= TARGET_P95_MS,
                               f"worst `{worst['endpoint']}` p95 {worst['p95']:.1f} ms"))
    if lt["errors"]:
        L += ["\nErrors seen by the client:\n"] + [f"- ×{v} {k}" for k, v in lt["errors"].items()]
    lt["markdown"] = "\n".join(L)
    common.show("load test", lt, lt["load"][0])


def main() -> None:
    # --database-url: one dataset.py made; --users: a number, or several in turn (100,200,400);
    # --seconds: the A/B part after each ramp-up; --webs: web processes (more: behind nginx);
    # --stack: a running stack's file (common.Stack.write_attach) instead of starting one
    args = common.options(__doc__, database_url=None, users="200", seconds=180.0, json=None,
                          webs=1, stack=None)
    levels = [int(u) for u in args.users.split(",")]
    with common.Stack(args.database_url, "loadtest", timing=True, webs=args.webs,
                      attach=args.stack) as stack:
        load_knowledge(stack.env["DATABASE_URL"], 2000, 7)
        stack.start()
        env, done = run_locust(stack.base_url, levels, args.seconds)
        records = [{"method": p[2], "endpoint": p[3], "status": p[4], "ms": float(p[5]),
                    "phase": p[7].split(" ")[0], "who": p[7].split(" ")[-1], "pid": p[1]}
                   for p in stack.timing()]
        webs, setup = len(stack.web_pids), stack.setup()
    series = [summarise(records, level, webs) for level in done]
    stats = env.stats
    summary = dict(series[-1], series=series, setup=setup, problems=dict(Shared.problems),
        client_total={"requests": stats.total.num_requests, "failures": stats.total.num_failures,
                      "rps": stats.total.total_rps}, retried=Shared.retried,
        errors={f"{e.method} {e.name}: {e.error}": e.occurrences for e in stats.errors.values()},
        lost_sessions=Shared.lost)
    report(summary)
    common.write_json(args.json, summary)


if __name__ == "__main__":
    main()
