"""Handler autocomplete benchmark: the Interaction Handler picker over 2,000 users (RESULTS.md)."""

import os
import random
import re
import time
from datetime import timedelta

import common
from common import db, ms, pct
from sqlalchemy import func, or_, select

from helpline.auth.models import Team, User, user_teams
from helpline.auth.services import hash_password
from helpline.interactions import services
from helpline.timeutil import utcnow

PASSWORD = "handler-bench-password"
DOMAIN = "example.org"
TARGET_MS = 20.0
SEED = 20240611
SEARCH_PATH = "/interactions/handlers/search"
BARE_PATH = "/static/css/helpline.css"
FIRST_NAMES, LAST_NAMES, TEAMS, LANGUAGES = (common.DATA[k] for k in (
    "handler_first", "handler_last", "handler_teams", "handler_languages"))
ROLES = [("volunteer", 0.80), ("supervisor", 0.12), ("data", 0.05), ("admin", 0.03)]


def generate_people(n: int, rng: random.Random) -> list[dict]:
    """n staff with weighted UK names and unique first.last(N)@example.org logins."""
    first_name, last_name = (common.picker(names, offset=8) for names in (FIRST_NAMES, LAST_NAMES))
    pick_role = common.picker([r for r, _ in ROLES], [w for _, w in ROLES])
    seen: dict[str, int] = {}
    people = []
    for i in range(n):
        first, last = first_name(rng), last_name(rng)
        base = re.sub(r"[ ']", "", f"{first}.{last}").lower()  # as the demo seed makes logins
        seen[base] = seen.get(base, 0) + 1
        login = base if seen[base] == 1 else f"{base}{seen[base]}"
        # Index 0 signs in, so it must be a volunteer (the picker is for staff roles).
        role = "volunteer" if i == 0 else pick_role(rng)
        ca = "(CA) " if rng.random() < 0.02 else ""  # as the demo seed marks some staff
        people.append({"first": first, "last": last, "login": login,
                       "email": f"{login}@{DOMAIN}", "name": f"{ca}{first} {last}", "role": role})
    return people


def load_users(n: int, rng: random.Random) -> tuple[list[dict], float]:
    """n active users and their teams, through common.bulk_load; (people, seconds)."""
    people, pw_hash, now = generate_people(n, rng), hash_password(PASSWORD), utcnow()
    team_ids = list(range(1, len(TEAMS) + 1))

    def rows(*_) -> dict[str, list[dict]]:
        users = []
        for i, p in enumerate(people, 1):
            p["id"], p["team_id"] = i, rng.choice(team_ids)
            users.append({
                "id": i, "email": p["email"], "name": p["name"], "password_hash": pw_hash,
                "role": p["role"], "frontline_operator": rng.random() < 0.6,
                "language": rng.choice(LANGUAGES), "default_team_id": p["team_id"],
                "latest_authentication": (now - timedelta(days=rng.randint(0, 400),
                                                          minutes=rng.randint(0, 1440))
                                          if rng.random() < 0.7 else None),
                "active": True, "created_at": now - timedelta(days=rng.randint(0, 2000))})
        links = [{"user_id": p["id"], "team_id": t} for p in people for t in {p["team_id"]} | (
            {rng.choice(team_ids)} if rng.random() < 0.3 else set())]
        return {"team": [{"id": i, "name": name, "created_at": now}
                         for i, name in zip(team_ids, TEAMS, strict=True)],
                "user": users, "link": links}
    tables = {"team": Team.__table__, "user": User.__table__, "link": user_teams}
    return people, common.bulk_load(n, rows, tables, n)["seconds"]


def make_query(person: dict, kind: str, rng: random.Random) -> str:
    """What someone types into the picker: 2-4 letters of a name or a login fragment."""
    n = rng.randint(2, 4)
    if kind == "first":
        q = person["first"][:n]
    elif kind == "last":
        q = person["last"].replace("'", "")[:n]
    else:  # letters of the login: its start, or anywhere inside its first or last part
        part = rng.choice(re.findall(r"[a-z]{2,}", person["login"]))
        n = min(n, len(part))
        start = 0 if rng.random() < 0.4 else rng.randint(0, len(part) - n)
        q = part[start:start + n]
    return q.lower() if kind == "login" or rng.random() < 0.6 else q


def sql_matches(q: str) -> int:
    """How many active users the suggest_handlers WHERE clause matches (before its cap)."""
    like = f"%{q.strip().lower().replace('%', '').replace('_', '')}%"
    return db.session.scalar(select(func.count(User.id)).where(
        User.active.is_(True), or_(func.lower(User.name).like(like),
                                   func.lower(User.email).like(like)))) or 0


def pick_queries(people: list[dict], count: int, seed: int) -> list[dict]:
    """count queries (about 40 % first, 40 % last, 20 % login) from random users."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        kind = rng.choices(["first", "last", "login"], weights=[4, 4, 2])[0]
        q = make_query(rng.choice(people), kind, rng)
        out.append({"kind": kind, "q": q, "len": len(q), "matches": sql_matches(q)})
    return out


def measure(app, client, queries: list[dict]) -> list[dict]:
    def server(item: dict, r: dict) -> None:
        r["server"], resp = common.timed(client.get, SEARCH_PATH, headers={"HX-Request": "true"},
                                         query_string={"handler_q": item["q"]})
        assert resp.status_code == 200, (item["q"], resp.status_code)
        r["options"] = resp.get_data(as_text=True).count('role="option"')

    def svc(item: dict, r: dict) -> None:
        with app.app_context():
            r["svc"], users = common.timed(services.suggest_handlers, item["q"])
            r["returned"] = len(users)

    def bare(item: dict, r: dict) -> None:  # a static file: no database, no template
        t0 = time.perf_counter()
        resp = client.get(BARE_PATH)
        resp.get_data()
        r["bare"] = time.perf_counter() - t0
        assert resp.status_code == 200, resp.status_code
        resp.close()

    warmup = random.Random(SEED + 2).sample(queries, min(30, len(queries)))
    return common.interleave(queries, {"server": server, "svc": svc, "bare": bare}, warmup)


def table_line(label: str, rs: list[dict]) -> list:
    """One row: p50/p95/p99 of server, svc and bare, and the server/bare ratio."""
    cols = [c for who in ("server", "svc", "bare") for c in common.cells(ms(r[who] for r in rs),
                                                                         nd=2)]
    ratio = pct([r["server"] for r in rs], .5) / pct([r["bare"] for r in rs], .5)
    return [label, len(rs), *cols, f"{ratio:.1f}",
            *common.cells([r["matches"] for r in rs], (0,), 0)]


def report(results: list[dict], setting: dict) -> None:
    common.header("handler autocomplete", setting["load_before"])
    print(f"# {setting['version']}; {setting['users']:,} active users ({len(TEAMS)} teams, "
          f"logins first.last@{DOMAIN}), loaded in {setting['load_seconds']:.1f} s")
    print(f"# server = client.get('{SEARCH_PATH}', handler_q=q, HX-Request: true) in-process")
    print("# svc    = services.suggest_handlers(q) alone in an app context")
    print(f"# bare   = client.get('{BARE_PATH}') through the same app (the bare comparator)")
    print("# Times in ms, time.perf_counter() around each call; the three interleaved per "
          "query.\n")
    rows = [table_line("all", results)]
    rows += [table_line(label, [r for r in results if r["kind"] == kind]) for kind, label in
             (("first", "  first name"), ("last", "  last name"), ("login", "  login fragment"))]
    rows += [table_line(f"  {n} letters", rs) for n in (2, 3, 4)
             if (rs := [r for r in results if r["len"] == n])]
    capped = [r for r in results if r["matches"] >= 200]
    if capped:
        rows.append(table_line("  >= 200 SQL matches", capped))
    common.table([("queries", -22), ("n", 5), ("server p50", 11), ("p95", 7), ("p99", 7),
                  ("svc p50", 8), ("p95", 7), ("p99", 7), ("bare p50", 8), ("p95", 7),
                  ("p99", 7), ("ratio", 6), ("matches", 7)], rows)
    print("\n(ratio = server p50 / bare p50; matches = median number of active users the "
          "query's LIKE matches before the limit of 200)")
    p95 = pct([r["server"] * 1000 for r in results], .95)
    scope = "" if setting["users"] >= 2000 else "  (the target is set for 2,000 users)"
    print(f"\nserver p95 <= {TARGET_MS:.0f} ms with {setting['users']:,} users: "
          f"{'yes' if p95 <= TARGET_MS else 'NO'} ({p95:.2f} ms){scope}")
    print(f"\nqueries whose page showed a different number of options than the service "
          f"returned: {sum(r['options'] != r['returned'] for r in results)}")
    print("queries with no suggestion (all were taken from stored users): "
          f"{sum(r['options'] == 0 for r in results)}")
    wide = sorted({r["q"].lower() for r in capped})
    if wide:
        print(f"queries matching >= 200 users (the email LIKE is a substring match, so the "
              f"shared domain '{DOMAIN}' counts): {', '.join(wide[:20])}")
    print("slowest server times: " + common.slowest(results, "server", lambda r: (
        f"{r['q']!r} {r['server'] * 1000:.1f} ms ({r['matches']} matches)")))


def main() -> None:
    # --database-url: a PostgreSQL one works too (its database is wiped)
    args = common.options(__doc__, users=2000, queries=400, database_url=None)
    with common.fresh_app(args, "handler-autocomplete", DOMAIN, f"{args.users:,} users") as app:
        with app.app_context():
            people, load_seconds = load_users(args.users, random.Random(SEED))
            setting = dict(common.facts(), load_seconds=load_seconds,
                           users=common.count(User, User.active.is_(True)))
            queries = pick_queries(people, args.queries, SEED + 1)
        client = app.test_client()  # requests run outside any app context, as in production
        common.sign_in(client, people[0]["email"], PASSWORD)
        setting["load_before"] = os.getloadavg()[0]
        report(measure(app, client, queries), setting)


if __name__ == "__main__":
    main()
