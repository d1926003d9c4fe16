"""Bulk dataset for `make bench`: contacts, cases, interactions and call backs at a scale.

    .venv/bin/python benchmarks/dataset.py                   # 1M contacts/cases, 2M interactions
    .venv/bin/python benchmarks/dataset.py --scale 0.01      # 10,000 / 10,000 / 20,000 / 2,000
    .venv/bin/python benchmarks/dataset.py --scale 0.01 --keep   # reuse if already generated
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/helpline \\
        .venv/bin/python benchmarks/dataset.py --scale 0.1

At scale 1: 1,000,000 contacts (UK names, phones, postcodes, with the search keys the app
computes itself: contacts_search.Generator calls contacts.services.set_search_keys),
1,000,000 cases (one per contact, each with 2 summary notes, 1-2 Local Signposts, 1 Local
Referral with valid extra fields and the audit rows the app writes: case_page.CaseGenerator),
2,000,000 interactions (two per case: method, call state, duration, notes; each with its
handler row, 5% with an emergency intervention) and 200,000 call backs (one per five cases:
old ones closed, recent open ones armed for a reminder days ahead, so no reminder storm
fires during the load test). Users: the case-page benchmark's supervisor and 60 handlers in
the demo's four teams, plus --volunteers load-test volunteers (volunteer.NNN@DOMAIN), an
administrator (admin@DOMAIN) and a data-team member (data@DOMAIN); every password is
case_page.BENCH_PASSWORD. Lookup lists come from helpline.demo.

Rows go in with Core executemany in batches inside one transaction per batch (SQLite with
journal_mode=WAL, synchronous=OFF during the load). The target database is wiped first,
unless --keep finds it already at this scale; the script refuses to wipe a database that
holds users other than the benchmark's own. Prints rows/s per table and in total.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("SECRET_KEY", "dataset-benchmark")

import case_page  # noqa: E402
from case_page import (BENCH_PASSWORD, DOMAIN, CaseGenerator, lookup_lists,  # noqa: E402
                       make_people_and_lists)
from contacts_search import Generator, dialect_version, wipe  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, inspect, make_url, select  # noqa: E402

from helpline import create_app  # noqa: E402
from helpline.audit.models import AuditEntry  # noqa: E402
from helpline.auth.models import User  # noqa: E402
from helpline.auth.services import create_user, hash_password  # noqa: E402
from helpline.callbacks.models import ARMED, CLOSED, CallBack  # noqa: E402
from helpline.cases.models import Case, CaseNote, Referral, Signpost  # noqa: E402
from helpline.contacts.models import Contact  # noqa: E402
from helpline.demo import TEAMS  # noqa: E402
from helpline.extensions import db  # noqa: E402
from helpline.interactions.models import (COUNTRIES, Interaction,  # noqa: E402
                                          InteractionHandler, interaction_interventions)

SEED = 20250101
BATCH = 10_000  # contacts (and cases) per transaction
FULL = {"contacts": 1_000_000, "cases": 1_000_000, "interactions": 2_000_000,
        "callbacks": 200_000}
VOLUNTEER_EMAIL = "volunteer.{:03d}@" + DOMAIN
ADMIN_EMAIL = "admin@" + DOMAIN
DATA_EMAIL = "data@" + DOMAIN
SUPERVISOR_EMAIL = case_page.BENCH_EMAIL
PASSWORD = BENCH_PASSWORD
MARKER = "benchmark_dataset"  # a JSON file beside a SQLite DB: the scale it holds

INTERACTION_NOTES = [
    "Caller asked about food parcels; details taken.", "Follow-up call, no change.",
    "Caller wanted an update on the referral.", "Left a message, no answer.",
    "Caller distressed; talked through options.", "Quick call to confirm the delivery.",
    "Email received asking for a call back.", "Caller's neighbour rang on their behalf.",
]
CALLBACK_TEXT = ["Check the food parcel arrived", "Ring back about the referral",
                 "Follow up after the GP appointment", "Weekly befriending call",
                 "Confirm transport for Tuesday", "Check in after the bereavement"]


def counts_for(scale: float) -> dict[str, int]:
    """Row targets at a scale (at least one of each)."""
    return {k: max(1, round(v * scale)) for k, v in FULL.items()}


class ActivityGenerator:
    """Interactions (with handler rows) and call backs for generated cases."""

    def __init__(self, seed: int, handlers: list[tuple[int, int]], lists: dict,
                 volunteer_ids: list[int]) -> None:
        self.rng = random.Random(seed)
        self.handlers = handlers
        self.methods = lists["interaction_method"]
        self.states = lists["call_state"]
        self.interventions = lists["emergency_intervention"]
        self.owners = [h[0] for h in handlers] + volunteer_ids
        self.now = case_page.utcnow().replace(microsecond=0)

    def interactions(self, first_id: int, case: dict, n: int) -> dict[str, list[dict]]:
        """n interactions on a case, with one handler row each."""
        rng, out = self.rng, {"interaction": [], "handler": [], "intervention": []}
        for k in range(n):
            iid = first_id + k
            at = min(self.now, case["created_at"] + timedelta(minutes=rng.randint(0, 60 * 24 * 20)))
            user = case["owner_id"] if k == 0 else rng.choice(self.handlers)[0]
            out["interaction"].append(dict(
                id=iid, fully_anonymous=False, enquirer_id=case["caller_id"],
                enquirer_country=COUNTRIES[0] if rng.random() < 0.85 else rng.choice(COUNTRIES),
                interaction_date=at, method_id=(self.methods[0] if rng.random() < 0.8
                                                else rng.choice(self.methods)),
                direction="Inbound" if k == 0 or rng.random() < 0.5 else "Outbound",
                call_state_id=self.states[1], duration_mins=rng.randint(1, 45),
                case_id=case["id"], out_of_remit=False, out_of_remit_reason_id=None,
                community=rng.random() < 0.1, covid_related=rng.random() < 0.05,
                notes=rng.choice(INTERACTION_NOTES), call_back_required=rng.random() < 0.1,
                created_at=at, created_by_id=user))
            out["handler"].append(dict(interaction_id=iid, user_id=user, assigned_by_id=user,
                                       assigned_at=at))
            if rng.random() < 0.05:
                out["intervention"].append(dict(interaction_id=iid,
                                                item_id=rng.choice(self.interventions)))
        return out

    def callback(self, case: dict, phone: str | None) -> dict:
        """One call back: closed if the case is old, else open and armed days ahead."""
        rng = self.rng
        age_days = (self.now - case["created_at"]).total_seconds() / 86400
        open_ = age_days < 30 and rng.random() < 0.6
        if open_:
            start = self.now + timedelta(days=rng.randint(2, 30), minutes=rng.randint(0, 600))
        else:
            start = case["created_at"] + timedelta(days=rng.randint(1, 7))
        end = start + timedelta(hours=1)
        owner = rng.choice(self.owners) if open_ else case["owner_id"]
        return dict(
            case_id=case["id"], request_id=None, owner_id=owner, team_id=None,
            follows_case_owner=not open_, status="Open" if open_ else "Done",
            contact_number=phone or "07700 900000", description=rng.choice(CALLBACK_TEXT),
            call_received_at=case["created_at"], preferred_at=None, alarm=True,
            start_at=start, end_at=end, informal=rng.random() < 0.1,
            reminder_state=ARMED if open_ else CLOSED,
            remind_at=start - timedelta(minutes=5), snooze_total=0, escalated_at=None,
            closed_at=None if open_ else end, closed_by_id=None if open_ else owner,
            created_at=case["created_at"], created_by_id=case["owner_id"])


def make_users(volunteers: int) -> tuple[int, list[tuple[int, int]], list[int]]:
    """The case-page supervisor and handlers, lookup lists, load-test volunteers, an admin."""
    supervisor_id, handlers = make_people_and_lists()
    pw_hash = hash_password(PASSWORD)
    ids = []
    for i in range(volunteers):
        user = create_user(VOLUNTEER_EMAIL.format(i + 1), f"Load Volunteer {i + 1:03d}",
                           "volunteer", "", team=TEAMS[i % len(TEAMS)], password_hash=pw_hash)
        ids.append(user)
    create_user(ADMIN_EMAIL, "Ada Admin", "admin", "", team=TEAMS[0], password_hash=pw_hash)
    create_user(DATA_EMAIL, "Dana Data", "data", "", team=TEAMS[0], password_hash=pw_hash)
    db.session.commit()
    out = [u.id for u in ids]
    db.session.remove()
    return supervisor_id, handlers, out


TABLES = {"contact": Contact.__table__, "case": Case.__table__, "note": CaseNote.__table__,
          "signpost": Signpost.__table__, "referral": Referral.__table__,
          "audit": AuditEntry.__table__, "interaction": Interaction.__table__,
          "handler": InteractionHandler.__table__, "intervention": interaction_interventions,
          "callback": CallBack.__table__}


def batch_rows(start: int, size: int, want: dict[str, int], gens) -> dict[str, list[dict]]:
    """Rows for contacts/cases start+1 .. start+size, with their share of the rest."""
    contacts_gen, cases_gen, activity = gens
    rows: dict[str, list[dict]] = {k: [] for k in TABLES}
    per_case = want["interactions"] / want["cases"]
    cb_every = want["cases"] / max(1, want["callbacks"])
    for i in range(start + 1, start + size + 1):
        contact = contacts_gen.row()
        contact["id"] = i
        rows["contact"].append(contact)
        if i > want["cases"]:
            continue
        for k, v in cases_gen.rows(i, contact).items():
            rows[k].extend(v)
        case = rows["case"][-1]
        # Spread interactions and call backs evenly: interaction ids stay dense.
        first = int((i - 1) * per_case) + 1
        n = int(i * per_case) - int((i - 1) * per_case)
        for k, v in activity.interactions(first, case, n).items():
            rows[k].extend(v)
        if int(i / cb_every) != int((i - 1) / cb_every):
            rows["callback"].append(activity.callback(case, contact.get("phone")))
    return rows


def load(want: dict[str, int], supervisor_id: int, handlers, volunteer_ids) -> dict:
    """Insert everything in batches; returns per-table counts and the seconds taken."""
    lists, fields = lookup_lists()
    gens = (Generator(SEED, supervisor_id), CaseGenerator(SEED + 1, handlers, lists, fields),
            ActivityGenerator(SEED + 2, handlers, lists, volunteer_ids))
    counts = dict.fromkeys(TABLES, 0)
    started, gen_time = time.perf_counter(), 0.0
    n = max(want["contacts"], want["cases"])
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-1048576")  # 1 GB for the index inserts
            conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            conn.commit()
        done, last_print = 0, 0.0
        while done < n:
            size = min(BATCH, n - done)
            t0 = time.perf_counter()
            rows = batch_rows(done, size, want, gens)
            gen_time += time.perf_counter() - t0
            with conn.begin():
                for k, table in TABLES.items():  # parents first
                    if rows[k]:
                        conn.execute(table.insert(), rows[k])
                        counts[k] += len(rows[k])
            done += size
            elapsed = time.perf_counter() - started
            if done == n or elapsed - last_print > 15:
                last_print = elapsed
                print(f"  {done:>9,}/{n:,} contacts + cases  {elapsed:6.1f} s  "
                      f"{sum(counts.values()) / elapsed:8,.0f} rows/s "
                      f"(generating {gen_time:5.1f} s)", flush=True)
        insert_seconds = time.perf_counter() - started
        t0 = time.perf_counter()
        if sqlite:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.commit()
        else:  # explicit ids: move the sequences past them
            for table in ("contacts", "cases", "interactions"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.commit()
    if not sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    analyze_seconds = time.perf_counter() - t0
    db.engine.dispose()  # later connections get the app's normal pragmas
    return {"counts": counts, "insert_seconds": insert_seconds, "generate_seconds": gen_time,
            "analyze_seconds": analyze_seconds, "seconds": time.perf_counter() - started}


def existing_counts() -> dict[str, int] | None:
    """Row counts of the main tables if the schema is there (refuses a real database)."""
    insp = inspect(db.engine)
    if not insp.has_table("users"):
        return None
    others = db.session.scalar(select(func.count(User.id))
                               .where(~User.email.endswith(f"@{DOMAIN}")))
    if others:
        raise SystemExit(f"refusing to wipe {db.engine.url.render_as_string(hide_password=True)}"
                         f": it holds {others} user(s) that are not the benchmark's own")
    if not insp.has_table("call_backs"):
        return None
    out = {k: db.session.scalar(select(func.count()).select_from(m.__table__))
           for k, m in (("contacts", Contact), ("cases", Case), ("interactions", Interaction),
                        ("callbacks", CallBack))}
    out["volunteers"] = db.session.scalar(select(func.count(User.id)).where(
        User.email.like("volunteer.%")))
    db.session.remove()
    return out


def reusable(have: dict[str, int], want: dict[str, int]) -> bool:
    """The database holds this scale. The benchmarks that run on it add rows of their own
    (erasure.py's subjects with 20 cases each, the load test's saves); a few more than
    generated (up to 1%, at least 1,000) still count, or each rerun would regenerate it."""
    return all(v <= have[k] <= v + max(1000, v // 100) for k, v in want.items())


def default_url(scale: float) -> str:
    """DATABASE_URL, else a SQLite file per scale under $TMPDIR/helpline-bench/."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    folder = Path(tempfile.gettempdir()) / "helpline-bench"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / f'bench-{scale:g}.db'}"


def prepare(url: str, scale: float, volunteers: int, keep: bool) -> dict:
    """Reuse (keep) or wipe, migrate and load; returns a summary dict (also for RESULTS.md)."""
    parsed = make_url(url)
    sqlite_path = Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None
    shown = parsed.render_as_string(hide_password=True)
    want = counts_for(scale)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0",
                      "MAIL_SUPPRESS_SEND": True, "SERVER_NAME": None})
    with app.app_context():
        have = existing_counts()
        if keep and have and reusable(have, want) and have["volunteers"] >= volunteers:
            print(f"# reusing {shown} ({have}); migrating to the current head", flush=True)
            upgrade(directory=str(HERE.parent / "migrations"))
            summary = {"reused": True}
        else:
            wipe(sqlite_path)
            print(f"# generating scale {scale:g} into {shown}: " + ", ".join(
                f"{v:,} {k}" for k, v in want.items()), flush=True)
            upgrade(directory=str(HERE.parent / "migrations"))
            supervisor_id, handlers, volunteer_ids = make_users(volunteers)
            summary = load(want, supervisor_id, handlers, volunteer_ids)
            total = sum(summary["counts"].values())
            print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in summary["counts"].items()))
            print(f"# loaded {total:,} rows in {summary['seconds']:.1f} s "
                  f"({total / summary['insert_seconds']:,.0f} rows/s inserting incl. generation; "
                  f"generation {summary['generate_seconds']:.1f} s; "
                  f"{'ANALYZE' if sqlite_path else 'VACUUM ANALYZE'} "
                  f"{summary['analyze_seconds']:.1f} s)", flush=True)
            summary["reused"] = False
        with db.engine.connect() as conn:
            summary["version"] = dialect_version(conn)
        summary["have"] = existing_counts()
        if sqlite_path is not None:
            summary["size_mb"] = sum(Path(str(sqlite_path) + s).stat().st_size
                                     for s in ("", "-wal") if Path(str(sqlite_path) + s).exists()
                                     ) / 1e6
        else:
            with db.engine.connect() as conn:
                summary["size_mb"] = conn.exec_driver_sql(
                    "select pg_database_size(current_database())").scalar() / 1e6
        db.session.remove()
        db.engine.dispose()
    summary.update(url=shown, scale=scale, want=want)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1 = 1M contacts, 1M cases, 2M interactions, 200k call backs")
    parser.add_argument("--database-url", help="default: $DATABASE_URL, else a SQLite file in "
                        "$TMPDIR/helpline-bench/ (its contents are replaced)")
    parser.add_argument("--volunteers", type=int, default=200,
                        help="load-test volunteer accounts (default 200)")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the database if it already holds this scale")
    parser.add_argument("--json", help="write the summary here as JSON")
    args = parser.parse_args()
    url = args.database_url or default_url(args.scale)
    summary = prepare(url, args.scale, args.volunteers, args.keep)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    print(f"DATABASE_URL={url}")


if __name__ == "__main__":
    main()
