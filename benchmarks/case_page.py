"""Case page benchmark: the case page and the add-signpost fragment, SQL timed (RESULTS.md)."""

import gzip
import os
import random
import re
import statistics
import time
from collections import defaultdict

import brotli
import common
from common import BENCH_EMAIL, db, ms, pct
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from helpline.audit.models import AuditEntry
from helpline.auth.models import User
from helpline.auth.services import create_user
from helpline.cases.models import Case, CaseNote, Referral, Signpost
from helpline.contacts import services as contact_services
from helpline.contacts.models import Contact
from helpline.demo import TEAMS

VOLUNTEER_EMAIL = f"volunteer@{common.DOMAIN}"  # verifies each sampled caller first
TARGET_MS = 30.0
FRAGMENT_MAX = 5 * 1024
REQUESTS = common.DATA["case_page_requests"]  # kind: (label, path, headers); bare: a static file


class SqlMeter:
    """Times every statement and COMMIT between start() and stop()."""

    def __init__(self, engine) -> None:
        self.current, self.t_exec, self.t_commit = None, 0.0, None
        for target, name, fn in ((engine, "before_cursor_execute", self._before),
                                 (engine, "after_cursor_execute", self._after),
                                 (engine, "commit", self._commit),
                                 (Session, "after_commit", self._done)):
            event.listen(target, name, fn)

    def start(self) -> None:
        self.current = {"statements": [], "commit": 0.0}

    def stop(self) -> dict:
        out, self.current = self.current, None
        return out

    def _before(self, *_) -> None:
        self.t_exec = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, *_) -> None:
        if self.current is not None:
            self.current["statements"].append((statement, parameters,
                                               time.perf_counter() - self.t_exec))

    def _commit(self, conn) -> None:
        self.t_commit = time.perf_counter()

    def _done(self, session) -> None:  # a commit with no connection to commit times nothing
        if self.current is not None and self.t_commit is not None:
            self.current["commit"] += time.perf_counter() - self.t_commit
        self.t_commit = None


def as_volunteer(app, client, case_ids: list[int]) -> None:
    """Add the volunteer, sign in as them and verify each caller in this session (as the
    contact page's form does)."""
    with app.app_context():  # the supervisor's password hash: no second slow hash
        pw_hash = db.session.scalar(select(User.password_hash).where(User.email == BENCH_EMAIL))
        create_user(VOLUNTEER_EMAIL, "Val Volunteer", "volunteer", "", team=TEAMS[0],
                    password_hash=pw_hash)
        db.session.commit()
    common.sign_in(client, VOLUNTEER_EMAIL)
    with app.app_context():
        with client.session_transaction() as sess:
            sid = sess["sid"]
        volunteer = db.session.scalar(select(User).where(User.email == VOLUNTEER_EMAIL))
        callers = db.session.scalars(select(Case.caller_id).where(Case.id.in_(set(case_ids))))
        for contact_id in set(callers):
            contact_services.verify(db.session.get(Contact, contact_id), volunteer, sid,
                                    ["Name", "Postcode"])
        db.session.commit()


def timed_get(client, meter: SqlMeter, path: str, headers: dict) -> dict:
    meter.start()
    t0 = time.perf_counter()
    resp = client.get(path, headers=headers)
    body = resp.get_data()
    out = {"t": time.perf_counter() - t0, "bytes": len(body), "body": body, "sql": meter.stop()}
    resp.close()
    if resp.status_code != 200:
        raise SystemExit(f"GET {path} answered {resp.status_code}:\n{body[:2000]!r}")
    return out


def measure(client, meter: SqlMeter, case_ids: list[int]) -> dict[str, list[dict]]:
    """The four requests per case, interleaved, rotating which goes first."""
    def runner(kind: str):
        def run(item: dict, record: dict) -> None:
            _, path, headers = REQUESTS[kind]
            r = timed_get(client, meter, path.format(item["case_id"]), headers)
            if kind == "page":
                r["raw_gzip"] = len(gzip.compress(r["body"], 6))
                r["raw_br"] = len(brotli.compress(r["body"], quality=4))
            if kind != "fragment":
                r.pop("body")
            record[kind] = dict(r, case_id=item["case_id"])
        return run
    items = [{"case_id": case_id} for case_id in case_ids]
    records = common.interleave(items, {k: runner(k) for k in REQUESTS}, items[:20])
    return {k: [rec[k] for rec in records] for k in REQUESTS}


def short(statement: str, width: int = 110) -> str:
    s = re.sub(r"\s+", " ", statement).strip()
    return s if len(s) <= width else s[:width - 1] + "…"


def sql_ms(r: dict) -> float:
    return sum(s[2] for s in r["sql"]["statements"])


def report(results: dict[str, list[dict]], setting: dict, engine) -> None:
    common.header("case page", setting["load_before"])
    print(f"# {setting['version']}; {setting['contacts']:,} contacts, {setting['cases']:,} "
          f"cases, {setting['notes']:,} notes, {setting['signposts']:,} signposts, "
          f"{setting['referrals']:,} referrals, {setting['audit']:,} audit rows; "
          f"{setting['size']:,.0f} MB; loaded in {setting['load_seconds']:.0f} s")
    print(f"# signed in as a volunteer through /login; {len(results['page'])} random "
          "cases (each caller verified in this session first); "
          "server time = perf_counter around test-client GET + body, in-process. Times in ms.\n")
    bare_p50 = statistics.median(r["t"] for r in results["bare"])
    rows = []
    for kind, (label, _, _) in REQUESTS.items():
        rs, t = results[kind], ms(r["t"] for r in results[kind])
        rows.append([label, len(rs), *common.cells(t, nd=2), f"{max(t):.2f}",
                     f"{statistics.median(t) / (bare_p50 * 1000):.1f}",
                     *common.cells([len(r["sql"]["statements"]) for r in rs], (0,), 0),
                     *common.cells(ms(sql_ms(r) for r in rs), (0,), 2),
                     *common.cells(ms(r["sql"]["commit"] for r in rs), (0,), 2)])
    common.table([("request", -34), ("n", 4), ("p50", 7), ("p95", 7), ("p99", 7), ("max", 7),
                  ("x bare p50", 10), ("SQL stmts", 9), ("SQL ms", 7), ("commit ms", 9)], rows)
    print("(SQL stmts / SQL ms / commit ms: medians per request; commit = the COMMIT of the "
          "'view' audit row the case page writes)")

    page, gz, frag = results["page"], results["page-gz"], results["fragment"]
    med = lambda rs, k: int(statistics.median(r[k] for r in rs))  # noqa: E731
    print(f"\nsizes (bytes): page raw p50 {med(page, 'bytes'):,} / max "
          f"{max(r['bytes'] for r in page):,}; gzip served p50 {med(gz, 'bytes'):,} / max "
          f"{max(r['bytes'] for r in gz):,} (local gzip-6 p50 {med(page, 'raw_gzip'):,}, "
          f"brotli-4 p50 {med(page, 'raw_br'):,}); fragment raw p50 {med(frag, 'bytes'):,} / "
          f"max {max(r['bytes'] for r in frag):,}")

    groups: dict[str, list] = defaultdict(list)  # where the page's SQL time goes, by statement
    for r in page:
        for statement, params, secs in r["sql"]["statements"]:
            groups[statement].append((secs, params))
    n_pages, total = len(page), {s: sum(secs for secs, _ in g) for s, g in groups.items()}
    all_sql = sum(total.values()) or 1
    print(f"\nSQL of the case page, by statement ({len(groups)} distinct; per page on average "
          f"{sum(map(len, groups.values())) / n_pages:.1f} statements, "
          f"{sum(total.values()) / n_pages * 1000:.2f} ms):")
    ranked = sorted(groups, key=lambda s: -total[s])
    common.table([("per page", 10), ("mean ms", 8), ("max ms", 7), ("share", 6), ("statement", -9)],
                 [[f"{len(groups[s]) / n_pages:.2f}", f"{total[s] / len(groups[s]) * 1000:.3f}",
                   f"{max(secs for secs, _ in groups[s]) * 1000:.2f}",
                   f"{total[s] / all_sql:.1%}", short(s)] for s in ranked])
    sql_share = sum(sql_ms(r) + r["sql"]["commit"] for r in page) / sum(r["t"] for r in page)
    print(f"  SQL + commit = {sql_share:.0%} of the page's server time; the rest is routing, "
          "session/user loading, forms and template rendering in Python")
    slowest = next((s for s in ranked if s.lstrip().upper().startswith("SELECT")), None)
    if slowest:
        print(f"\nplan of the SELECT with the most total time ({short(slowest, 80)}):")
        for line in common.explain(engine, slowest, max(groups[slowest], key=lambda g: g[0])[1]):
            print("    " + line)
    print("\nslowest pages: " + common.slowest(page, "t", lambda r: (
        f"case {r['case_id']} {r['t'] * 1000:.1f} ms ({len(r['sql']['statements'])} stmts, "
        f"SQL {sql_ms(r) * 1000:.1f} ms, commit {r['sql']['commit'] * 1000:.1f} ms)")))

    scope = "" if setting["sqlite"] and setting["cases"] >= 1_000_000 else \
        "  (the target is set for 1M cases on SQLite)"
    for kind in ("page", "page-gz", "fragment"):
        p95 = pct(ms(r["t"] for r in results[kind]), .95)
        print(f"{kind:<8} server p95 <= {TARGET_MS:.0f} ms: "
              f"{'yes' if p95 <= TARGET_MS else 'NO'} ({p95:.1f} ms){scope}")
    biggest = max(r["bytes"] for r in frag)
    print(f"fragment <= 5 KB ({FRAGMENT_MAX} bytes): {'yes' if biggest <= FRAGMENT_MAX else 'NO'} "
          f"(largest {biggest:,} bytes raw)")


def main() -> None:
    # --contacts, and a case each; --queries: cases timed; --database-url: PostgreSQL too
    args = common.options(__doc__, contacts=1_000_000, queries=300, database_url=None)
    with common.fresh_app(args, "case-page", what=f"{args.contacts:,} contacts and cases") as app:
        with app.app_context():
            engine = db.engine
            supervisor_id, handlers = common.make_people_and_lists()
            load_seconds = common.load_cases(args.contacts, supervisor_id, handlers)["seconds"]
            setting = dict(common.facts(), load_seconds=load_seconds, **{
                k: common.count(model) for k, model in (
                    ("contacts", Contact), ("cases", Case), ("notes", CaseNote),
                    ("signposts", Signpost), ("referrals", Referral), ("audit", AuditEntry))})
            lo, hi = db.session.execute(select(func.min(Case.id), func.max(Case.id))).one()
        rng = random.Random(common.CASE_SEED + 2)
        case_ids = [rng.randint(lo, hi) for _ in range(args.queries)]
        client = app.test_client()  # requests run outside any app context, as in production
        as_volunteer(app, client, case_ids)
        meter = SqlMeter(engine)
        setting["load_before"] = os.getloadavg()[0]
        results = measure(client, meter, case_ids)
        report(results, setting, engine)


if __name__ == "__main__":
    main()
