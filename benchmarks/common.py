# ruff: noqa: E402  (helpline is imported once the repository is on sys.path)
"""What the benchmarks share: machine facts, percentiles, throwaway databases and their bulk
data, signing in, and the processes `make run` starts (on free ports, in a temp dir)."""

import argparse
import bisect
import contextlib
import csv
import http.cookiejar
import itertools
import json
import logging
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "helpline-benchmark")  # never write instance/secret_key

import psutil
from flask_migrate import upgrade
from sqlalchemy import func, inspect, make_url, select, text, update
from sqlalchemy.orm import Session

from helpline import create_app
from helpline.audit.models import AuditEntry
from helpline.auth.models import User
from helpline.auth.services import create_user, hash_password, team_by_name
from helpline.cases import models as case_models
from helpline.cases.models import Case, CaseNote, Referral, Signpost
from helpline.contacts import services as contact_services
from helpline.contacts.models import CONSENT_GIVEN_BY, CONSENT_STATUSES, Contact
from helpline.contacts.postcodes import DATA as AREAS_CSV
from helpline.demo import TEAMS, seed_lookups, seed_response_type_fields
from helpline.extensions import db
from helpline.lookups.models import LookupItem, ResponseTypeField
from helpline.run import redis_server_binary, wait_for_port
from helpline.timeutil import utcnow

# The accounts of the generated datasets (dataset.py, case_page.py, export.py, retention.py).
DOMAIN = "case-page-bench.example.org"
BENCH_EMAIL = f"supervisor@{DOMAIN}"
BENCH_PASSWORD = "case-page-bench-password"
VOLUNTEER_EMAIL = "volunteer.{:03d}@" + DOMAIN  # the load test's accounts (dataset.py makes them)
CASE_SEED = 20240715
DATA = json.loads((Path(__file__).with_name("data.json")).read_text(encoding="utf-8"))
FIRST, LAST = DATA["first"], DATA["last"]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- figures and machine facts -----------------------------------------------------------------
def options(doc: str, **defaults) -> argparse.Namespace:
    """--some-name for each keyword some_name; its default gives the type (False: a flag)."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in defaults.items():
        flag = "--" + name.replace("_", "-")
        if default is False:
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, default=default,
                                type=str if default is None else type(default))
    return parser.parse_args()


def write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str))


def pct(values, p: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)] if s else float("nan")


def ms(values) -> list[float]:
    return [v * 1000 for v in values]


def cells(xs, ps=(.5, .95, .99), nd: int = 1) -> list[str]:
    """Formatted percentiles of xs; p = 0 stands for the median (the mean of the middle two)."""
    return [f"{statistics.median(xs) if p == 0 else pct(xs, p):.{nd}f}" for p in ps]


def spread(label: str, xs: list[float], width: int = 34) -> str:
    """One line: n, min, p50, p95, p99, max and mean of xs, in seconds."""
    return f"{label:<{width}} n=0" if not xs else (
        f"{label:<{width}} n={len(xs):<5} min {min(xs):6.3f}  p50 {pct(xs, .5):6.3f}  "
        f"p95 {pct(xs, .95):6.3f}  p99 {pct(xs, .99):6.3f}  max {max(xs):6.3f}  "
        f"mean {statistics.fmean(xs):6.3f} s")


def slowest(records: list[dict], key: str, show, n: int = 5) -> str:
    """show(record) for the n records with the largest record[key], joined by '; '."""
    return "; ".join(show(r) for r in sorted(records, key=lambda r: -r[key])[:n])


def machine() -> dict:
    info = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")),
               platform.processor())
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "os": platform.platform(), "python": platform.python_version(), "commit": commit,
            "sqlite": sqlite3.sqlite_version,
            "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "load_before": os.getloadavg()}


def header(title: str, load_before: float | None = None) -> None:
    """A report's first lines: '# Helpline <title> benchmark — machine' and the load average."""
    m = machine()
    print(f"\n# Helpline {title} benchmark — {platform.node()}, {m['os']}, {m['cores']} CPUs "
          f"({m['cpu']}), {m['ram_gb']:.0f} GB RAM, Python {m['python']}")
    now = os.getloadavg()[0]
    before = now if load_before is None else load_before
    print(f"# load average (1 min) before / after measuring: {before:.2f} / {now:.2f} "
          "(other processes on the machine share its CPUs)")


def show(title: str, res: dict, load_before: float | None = None) -> None:
    """A report: its header, its RESULTS.md section (res["markdown"]) and target verdicts."""
    header(title, load_before)
    print(res["markdown"])
    print("\n".join(f"{'PASS' if ok else 'FAIL'}: {t} ({f})" for t, ok, f in res["verdicts"]))


def table(head: list[tuple[str, int]], rows: list[list]) -> None:
    """Print a plain-text table: head = [(label, width)], negative width = left-aligned."""
    def line(cells):
        return " ".join(f"{c:<{-w}}" if w < 0 else f"{c:>{w}}"
                        for c, (_, w) in zip(cells, head, strict=False))
    top = line([h for h, _ in head])
    print(top + "\n" + "-" * len(top))
    for row in rows:
        print(line(row) if row else "")


def fmt(v: float, nd: int = 1) -> str:
    return "n/a" if v != v else f"{v:.{nd}f}"


def md_table(head: str, align: str, rows) -> list[str]:
    """A Markdown table: head "a | b", align "l r" (left/right per column)."""
    return [f"| {head} |", "| " + " | ".join("---" if a == "l" else "---:" for a in align.split())
            + " |"] + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def timed(fn, *args, **kwargs) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def interleave(items: list, runners: dict, warmup: list) -> list[dict]:
    """Each runner(item, record) on each item (a copy of it), rotating which goes first."""
    for item in warmup:
        for run in runners.values():
            run(item, {})
    names, out = list(runners), []
    for i, item in enumerate(items):
        record = dict(item)
        for name in names[i % len(names):] + names[:i % len(names)]:
            runners[name](item, record)
        out.append(record)
    return out


# --- databases ---------------------------------------------------------------------------------
def make_app(url: str, **config):
    """The app on this database; Redis on a dead port unless given; no log lines below WARNING."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0",
                      "MAIL_SUPPRESS_SEND": True, "SERVER_NAME": None, **config})
    logging.getLogger().setLevel(logging.WARNING)
    return app


def close(app, folder: Path | None = None) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def fresh_app(args, name: str, domain: str = DOMAIN, what: str = ""):
    """The app on --database-url (users not @domain: refused), else a temp SQLite file; wiped."""
    folder = Path(tempfile.mkdtemp(prefix=f"helpline-{name}-"))
    url = getattr(args, "database_url", None) or \
        f"sqlite:///{folder / name}-{getattr(args, 'contacts', 0)}.db"
    app = make_app(url, EXPORT_DIR=str(folder / "exports"))
    try:
        with app.app_context():
            check_ours(domain)
            wipe(sqlite_path(url))
            print(f"# generating {what} into {shown(url)}", flush=True)
            migrate()
        yield app
    finally:
        close(app, folder)


def facts(pg_sql: str = "pg_database_size(current_database())") -> dict:
    """The database's version, whether it is SQLite, its size in MB (file + WAL, or pg_sql)."""
    path = sqlite_path(db.engine.url)
    with db.engine.connect() as conn:
        if path is None:
            version = "PostgreSQL " + conn.exec_driver_sql("show server_version").scalar()
            size = conn.exec_driver_sql(f"select {pg_sql}").scalar() / 1e6
        else:
            version = "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
            size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()) / 1e6
    return {"version": version, "sqlite": path is not None, "size": size}


def bench_url(scale: float) -> str:
    """The `make bench` dataset: DATABASE_URL, else $TMPDIR/helpline-bench/bench-<scale>.db."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    folder = Path(tempfile.gettempdir()) / "helpline-bench"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / f'bench-{scale:g}.db'}"


def check_ours(domain: str = DOMAIN) -> None:
    """Refuse a database holding users that are not the benchmark's own (all @domain)."""
    if inspect(db.engine).has_table("users"):
        foreign = count(User, ~User.email.endswith(f"@{domain}"))
        if foreign:
            raise SystemExit(f"refusing to wipe {shown(str(db.engine.url))}: it holds "
                             f"{foreign} user(s) that are not the benchmark's own")


def wipe(path: Path | None) -> None:
    """Start from nothing: delete the SQLite file, or recreate the PostgreSQL schema."""
    db.session.remove()
    if path is not None:
        db.engine.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.engine.dispose()


def migrate() -> None:
    upgrade(directory=str(ROOT / "migrations"))


def explain(engine, statement: str, params) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL) of one statement."""
    sqlite = engine.dialect.name == "sqlite"
    with contextlib.closing(engine.raw_connection()) as raw:
        cur = raw.cursor()
        cur.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) ")
                    + statement, params)
        return [str(r[-1]) if sqlite else r[0] for r in cur.fetchall()]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def bulk_load(n: int, make_rows, tables: dict, batch: int) -> dict:
    """Insert make_rows(done, size) for items 1..n, then ANALYZE: per-table counts, seconds."""
    counts, started, gen_time = dict.fromkeys(tables, 0), time.perf_counter(), 0.0
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            for pragma in ("journal_mode=WAL", "synchronous=OFF", "temp_store=MEMORY",
                           "cache_size=-1048576"):  # 1 GB for the index inserts
                conn.exec_driver_sql("PRAGMA " + pragma)
            conn.commit()
        done, last_print = 0, 0.0
        while done < n:
            size = min(batch, n - done)
            t0 = time.perf_counter()
            rows = make_rows(done, size)
            gen_time += time.perf_counter() - t0
            with conn.begin():
                for k, table in tables.items():  # parents first
                    if rows.get(k):
                        conn.execute(table.insert(), rows[k])
                        counts[k] += len(rows[k])
            done += size
            elapsed = time.perf_counter() - started
            if done == n or elapsed - last_print > 15:
                last_print = elapsed
                print(f"  {done:>9,}/{n:,} {elapsed:6.1f} s  {sum(counts.values()) / elapsed:8,.0f}"
                      f" rows/s (generation {gen_time:5.1f} s)", flush=True)
        insert_seconds = time.perf_counter() - started
        t0 = time.perf_counter()
        if sqlite:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # explicit ids: move the sequences past them
            for name in {t.name for t in tables.values() if "id" in t.c}:
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT max(id) FROM {name}))")
        conn.commit()
    if not sqlite:  # VACUUM too, or autovacuum wakes up for the new rows mid-measurement
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    out = {"counts": counts, "insert_seconds": insert_seconds, "generate_seconds": gen_time,
           "analyze_seconds": time.perf_counter() - t0, "seconds": time.perf_counter() - started}
    db.engine.dispose()  # later connections get the app's normal pragmas
    return out


# --- contacts: UK names, phones and postcodes, weights falling off as 1 / (rank + 10) ---------
LAST_NAMES, FIRST_NAMES = DATA["contact_last"], DATA["contact_first"]
STREETS, CONTACT_TIMES, LANDLINE_CODES = (DATA[k] for k in ("streets", "contact_times",
                                                           "landline_codes"))
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in inward codes (no C I K M O V)
# central London's outward codes, listed (elsewhere: 1..n); the areas with few districts
LONDON_CENTRAL, SMALL_AREAS = DATA["london_central"], set(DATA["small_areas"])


def picker(items: list, weights=None, offset: int = 10):
    """rng -> one of items by weight (one rng.random() each); default: 1 / (rank + offset)."""
    cum = list(itertools.accumulate(weights or (1 / (r + offset) for r in range(len(items)))))
    return lambda rng: items[bisect.bisect(cum, rng.random() * cum[-1])]


class Generator:
    """Bulk contact rows (search keys by the app's own rule), deterministic for a seed."""

    def __init__(self, seed: int, created_by_id: int) -> None:
        self.rng = rng = random.Random(seed)
        self.created_by_id = created_by_id
        self.first, self.last = picker(FIRST_NAMES), picker(LAST_NAMES)
        self.districts: list[tuple[str, str, str, str]] = []  # outward, area, name, region
        with open(AREAS_CSV, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                code = row["code"]
                if code == "UK":  # "anywhere in the UK", not a postcode area
                    continue
                outwards = LONDON_CENTRAL.get(code) or [f"{code}{i}" for i in range(
                    1, (rng.randint(2, 9) if code in SMALL_AREAS else rng.randint(8, 40)) + 1)]
                self.districts += [(out, code, row["name"], row["region"]) for out in outwards]
        # Districts get a seeded population weight (lognormal) and a few sectors each.
        self.district = picker(list(range(len(self.districts))),
                               [rng.lognormvariate(0, 0.5) for _ in self.districts])
        self.sectors = [rng.sample(range(10), rng.randint(3, 9)) for _ in self.districts]
        self.seen_phones: set[str] = set()
        self.now = datetime(2025, 6, 1, 12, 0)

    def phone(self) -> str:
        """A UK mobile or landline, national format, unique in this run."""
        rng = self.rng
        while True:
            if rng.random() < 0.65:
                prefix = "07" + rng.choice("45789") + f"{rng.randint(0, 99):02d}"
                number = f"{prefix} {rng.randint(0, 999999):06d}"
            else:
                code = rng.choice(LANDLINE_CODES)
                if len(code) > 4:  # 01632 960001; else 020 7946 0000, 0121 496 0000
                    number = f"{code} {rng.randint(200000, 899999)}"
                else:
                    lo, hi = (2000, 8999) if len(code) == 3 else (200, 899)
                    number = f"{code} {rng.randint(lo, hi)} {rng.randint(0, 9999):04d}"
            digits = number.replace(" ", "")
            if digits not in self.seen_phones:
                self.seen_phones.add(digits)
                return number

    def postcode(self) -> tuple[str, str, str, str]:
        """(full postcode, area code, area name, region), weighted by district."""
        rng = self.rng
        i = self.district(rng)
        out, area, name, region = self.districts[i]
        inward = f"{rng.choice(self.sectors[i])}{rng.choice(INWARD_LETTERS)}" \
                 f"{rng.choice(INWARD_LETTERS)}"
        return f"{out} {inward}", area, name, region

    def personal(self, town: str) -> dict:
        """Name, phone, email, address, date of birth: kept only with consent."""
        rng = self.rng
        first, last = self.first(rng), self.last(rng)
        values = {"first_name": first, "last_name": last}
        if rng.random() < 0.95:
            values["phone"] = self.phone()
        if rng.random() < 0.4:
            user = re.sub(r"[^a-z]", "", f"{first}.{last}".lower())
            values["email"] = f"{user}{rng.randint(1, 999)}@example.com"
        if rng.random() < 0.7:
            values["address"] = f"{rng.randint(1, 240)} {rng.choice(STREETS)}, {town}"
        if rng.random() < 0.6:
            values["date_of_birth"] = date(1930, 1, 1) + timedelta(days=rng.randint(0, 30000))
        return values

    def row(self) -> dict:
        rng = self.rng
        r = rng.random()
        consent = CONSENT_STATUSES[0 if r < 0.90 else 1 if r < 0.97 else 2]
        postcode, area, town, region = self.postcode()
        created = self.now - timedelta(minutes=rng.randint(0, 5 * 365 * 24 * 60))
        values = dict.fromkeys(("first_name", "last_name", "phone", "email", "address",
                                "date_of_birth"))
        if consent == CONSENT_STATUSES[0]:
            values.update(self.personal(town))
        elif rng.random() < 0.5:
            postcode = None  # optional without consent
        values.update(
            postcode=postcode, postcode_area=area, region=region,
            preferred_contact_time=rng.choice(CONTACT_TIMES) if rng.random() < 0.3 else None,
            consent_status=consent,
            consent_given_by=CONSENT_GIVEN_BY[0] if rng.random() < 0.8 else CONSENT_GIVEN_BY[1],
            consent_provider_id=None, consent_decision_date=created.date(),
            active=rng.random() >= 0.01, merged_into_id=None,
            last_case_at=(created + timedelta(minutes=rng.randint(0, 200000))
                          if rng.random() < 0.7 else None),
            created_at=created, updated_at=created, created_by_id=self.created_by_id)
        keys = SimpleNamespace(**values)
        contact_services.set_search_keys(keys)  # the app's own rule, not a copy of it
        return vars(keys)


# --- cases: notes, signposts, a referral and the audit rows the app writes ----------------------
# the first version's status list, drawn from as before (review steps: now the review state)
WORKFLOW = ["Open", "Ready for review", "Reviewed", "Sent back", "Assigned", "Acknowledged",
            "Solved", "Closed"]
REVIEW_OF = {"Ready for review": case_models.READY, "Reviewed": case_models.ACCEPTED,
             "Sent back": case_models.SENT_BACK}
TITLES, SAFEGUARDING, TEXT_VALUES, OPEN_LIKE = (DATA[k] for k in (
    "case_titles", "safeguarding", "text_values", "open_like"))
CASE_TABLES = {"contact": Contact.__table__, "case": Case.__table__, "note": CaseNote.__table__,
               "signpost": Signpost.__table__, "referral": Referral.__table__,
               "audit": AuditEntry.__table__}


def field_value(f: ResponseTypeField, rng: random.Random, today: date) -> str:
    """A valid value for a referral's extra field."""
    if f.kind == "number":
        return str(rng.randint(1, 7))
    if f.kind == "date":
        return (today + timedelta(days=rng.randint(-30, 30))).isoformat()
    if f.kind in ("choice", "yes-no"):
        return rng.choice(f.choice_list if f.kind == "choice" else ["Yes", "No"])
    return rng.choice(TEXT_VALUES.get(f.name, ["See notes"]))


class CaseGenerator:
    """One case per generated contact (caller = beneficiary), created over the last two years."""

    def __init__(self, seed: int, handlers: list[tuple[int, int]], lookups: dict,
                 fields: dict[int, list[ResponseTypeField]]) -> None:
        self.rng = random.Random(seed)
        self.handlers = handlers  # (user id, team id)
        self.categories, self.types = lookups["signpost_category"], lookups["local_response_type"]
        self.fields = fields
        self.now = utcnow().replace(microsecond=0)
        self.span = 2 * 365 * 24 * 3600

    def status(self, age_days: float) -> str:
        """Old cases are mostly closed; recent ones are spread over the workflow."""
        r = self.rng.random()
        if age_days > 60:
            return "Closed" if r < 0.85 else "Solved" if r < 0.92 else self.rng.choice(OPEN_LIKE)
        return self.rng.choice(WORKFLOW)

    def note_text(self, title: str) -> str:
        rng = self.rng
        parts = [rng.choice(DATA["note_openings"]).format(what=title.lower())]
        parts += rng.sample(DATA["note_middles"], rng.randint(1, 3))
        parts.append(rng.choice(DATA["note_endings"]))
        return " ".join(parts)

    def extra(self, type_id: int) -> dict[str, str]:
        """Valid values for the response type's extra fields (required always, others half)."""
        rng = self.rng
        return {str(f.id): field_value(f, rng, self.now.date())
                for f in self.fields.get(type_id, []) if f.required or rng.random() >= 0.5}

    def rows(self, case_id: int, contact: dict) -> dict[str, list[dict]]:
        """Everything stored for one case whose caller (and beneficiary) is contact."""
        rng = self.rng
        earliest = max(self.now - timedelta(seconds=self.span), contact["created_at"])
        window = max(60, int((self.now - earliest).total_seconds()))
        created = earliest + timedelta(seconds=rng.randint(0, window))
        age_days = (self.now - created).total_seconds() / 86400
        owner, team = rng.choice(self.handlers)
        title = rng.choice(TITLES)
        drawn = self.status(age_days)  # desk status and review state drawn together
        status = drawn if drawn in case_models.STATUSES else "Open"
        ref = f"CA{case_id + case_models.REFERENCE_OFFSET}"
        later = [created + timedelta(minutes=rng.randint(1, 60 * 24 * 14)) for _ in range(5)]
        later = [min(t, self.now) for t in sorted(later)]
        reviewed = drawn in ("Reviewed", "Closed", "Solved") and rng.random() < 0.8
        review_state = REVIEW_OF.get(drawn, case_models.ACCEPTED if reviewed
                                     else case_models.NOT_READY)
        solved, safeguarding = status in ("Solved", "Closed"), rng.random() < 0.03
        assignee = rng.choice(self.handlers)[0] if status in ("Assigned", "Acknowledged") else None
        case = dict(
            id=case_id, title=title, caller_id=contact["id"], beneficiary_id=contact["id"],
            who_requires_support=case_models.WHO_REQUIRES[0], beneficiary_consent=None,
            psychosocial_support=rng.random() < 0.4, safeguarding_activated=safeguarding,
            safeguarding_reason=rng.choice(SAFEGUARDING) if safeguarding else None,
            feedback_consent=rng.choice([True, False, None]), status=status, owner_id=owner,
            team_id=team, reviewed_at=later[3] if reviewed else None,
            reviewed_by_id=rng.choice(self.handlers)[0] if reviewed else None,
            updated_since_review=False, review_state=review_state,
            solution="Support arranged through the local team." if solved else None,
            cause="Isolation and reduced income." if solved else None,
            created_at=created, updated_at=later[4], created_by_id=owner, version=1,
            assignee_id=assignee)
        notes = [dict(case_id=case_id, author_id=rng.choice((owner, rng.choice(self.handlers)[0])),
                      at=at, text=self.note_text(title)) for at in later[:2]]
        signposts = [dict(case_id=case_id, category_id=cat, created_at=later[0],
                          created_by_id=owner)
                     for cat in rng.sample(self.categories, rng.randint(1, 2))]
        type_id = rng.choice(self.types)
        ref_status = rng.choice(case_models.REFERRAL_STATUSES)
        declined = "Caller found help elsewhere" if ref_status == "Declined" else None
        sent_at = later[3] if ref_status in (case_models.SENT, case_models.ACTIONED) else None
        referrals = [dict(case_id=case_id, response_type_id=type_id, status=ref_status,
                          declined_reason=declined, sent_at=sent_at,
                          local_team=f"{contact['region']} local team",
                          extra=self.extra(type_id), created_at=later[0], created_by_id=owner)]
        caller = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p) \
            or f"Anonymous ({contact['postcode_area']} – {contact['region']})"
        base = dict(actor_id=owner, record_type="case", record_id=ref, reason=None, ip=None,
                    batch=None)
        audits = [dict(base, at=created, action="create", field=field, before=None, after=after)
                  for field, after in (("Case Title", title), ("Caller", caller))]
        if status != "Open":
            audits.append(dict(base, at=later[2], action="status", field="Status",
                               before="Open", after=status))
        return {"case": [case], "note": notes, "signpost": signposts, "referral": referrals,
                "audit": audits}


def make_people_and_lists(handlers: int = 60) -> tuple[int, list[tuple[int, int]]]:
    """The supervisor who signs in, the handlers owning the cases, the demo's teams and lookup
    lists; committed. Returns the supervisor's id and (handler id, team id)s."""
    pw_hash = hash_password(BENCH_PASSWORD)  # once, shared: creating users stays fast
    rng = random.Random(CASE_SEED + 7)
    me = create_user(BENCH_EMAIL, "Sam Supervisor", "supervisor", "", team=TEAMS[0],
                     password_hash=pw_hash)
    people = [create_user(f"handler.{i + 1:02d}@{DOMAIN}",
                          f"{rng.choice(DATA['staff_first'])} {rng.choice(DATA['staff_last'])}",
                          "supervisor" if i % 12 == 0 else "volunteer", "",
                          team=TEAMS[i % len(TEAMS)], password_hash=pw_hash)
              for i in range(handlers)]
    for name in TEAMS:
        team_by_name(name)
    seed_lookups()
    db.session.flush()
    seed_response_type_fields()
    db.session.commit()
    out, my_id = [(u.id, u.default_team_id) for u in people], me.id
    db.session.remove()
    return my_id, out


def make_volunteers(n: int, rng: random.Random, domain: str, pw_hash: str,
                    teams: list[str] | None = None) -> list[User]:
    """n volunteers named from FIRST / LAST (teams in turn, if given); not committed."""
    names = [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(n)]
    return [create_user(re.sub(r"[ ']", "", f"{first}.{last}.{i + 1}@{domain}").lower(),
                        f"{first} {last}", "volunteer", "", password_hash=pw_hash,
                        team=teams[i % len(teams)] if teams else None)
            for i, (first, last) in enumerate(names)]


def make_contact(actor: User, session_id: str, first: str, last: str, phone: str,
                 **extra) -> Contact:
    """A consenting caller in Birmingham (B1 1AA), created by actor; not committed."""
    return contact_services.create_contact({
        "consent_status": "Consent given", "consent_given_by": "The Caller for themselves",
        "first_name": first, "last_name": last, "phone": phone, "postcode": "B1 1AA",
        "postcode_area": "B", "region": "West Midlands", **extra}, actor, session_id=session_id)


def lookup_lists() -> tuple[dict[str, list[int]], dict[int, list[ResponseTypeField]]]:
    """Ids of the items of each lookup list, and each response type's extra fields."""
    lists: dict[str, list[int]] = defaultdict(list)
    for item in db.session.scalars(select(LookupItem).where(LookupItem.retired.is_(False))
                                   .order_by(LookupItem.position)):
        lists[item.list_name].append(item.id)
    fields: dict[int, list[ResponseTypeField]] = defaultdict(list)
    for f in db.session.scalars(select(ResponseTypeField).order_by(ResponseTypeField.position)):
        db.session.expunge(f)
        fields[f.response_type_id].append(f)
    db.session.remove()
    return dict(lists), dict(fields)


def load_cases(n: int, supervisor_id: int, handlers, seed: int = CASE_SEED, batch: int = 20_000,
               more=None, tables: dict = CASE_TABLES) -> dict:
    """n contacts and a case each (more(i, contact, rows) adds rows of its own): bulk_load."""
    contacts, cases = Generator(seed, supervisor_id), CaseGenerator(seed + 1, handlers,
                                                                    *lookup_lists())

    def rows(done: int, size: int) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = defaultdict(list)
        for i in range(done + 1, done + size + 1):
            contact = dict(contacts.row(), id=i)
            out["contact"].append(contact)
            for k, v in cases.rows(i, contact).items():
                out[k] += v
            if more:
                more(i, contact, out)
        return out
    return bulk_load(n, rows, tables, batch)


class Saver(threading.Thread):
    """Saves contact pick() every 50 ms (UPDATE + COMMIT, as a request would) and times each (ms);
    counts refused saves; notes the load average as it goes."""

    def __init__(self, app, pick) -> None:
        super().__init__(daemon=True)
        self.app, self.pick, self.stop = app, pick, threading.Event()
        self.waits: list[float] = []
        self.refused, self.loads = 0, [os.getloadavg()[0]]

    def run(self) -> None:
        n = 0
        with self.app.app_context():
            while not self.stop.wait(0.05):
                n += 1
                self.loads.append(os.getloadavg()[0])
                t0 = time.perf_counter()
                try:
                    with Session(db.engine) as s:
                        s.execute(update(Contact).where(Contact.id == self.pick())
                                  .values(preferred_contact_time=f"Save {n}"))
                        s.commit()
                    self.waits.append((time.perf_counter() - t0) * 1000)
                except Exception:  # a refused save is a result, not a crash
                    self.refused += 1


# --- signing in --------------------------------------------------------------------------------
def sign_in(client, email: str, password: str = BENCH_PASSWORD) -> None:
    """Sign a Flask test client in through the real /login form, as a browser would."""
    html = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"csrf_token": CSRF.search(html).group(1),
                                       "email": email, "password": password})
    assert resp.status_code == 302, f"sign-in failed: {resp.status_code}"


def http_sign_in(base_url: str, email: str, password: str) -> str:
    """Sign in to a running server through /login; returns the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + "/login", timeout=10) as resp:
        token = CSRF.search(resp.read().decode()).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                   "password": password}).encode()
    with opener.open(base_url + "/login", data=data, timeout=10) as resp:
        assert "/login" not in resp.geturl(), "sign-in failed"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


# --- the processes `make run` starts (helpline/run.py) -----------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int | None = None) -> float | None:
    """VmRSS of a process (default: this one) in MB (None if it is gone)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).memory_info().rss / 1024 / 1024
    return None


def postgres(tmp: Path) -> tuple[str, list[str]]:
    """A throwaway PostgreSQL cluster in tmp/pg with Debian's binaries (as tools/pgtest.sh and
    deploy/prod_check.py start one): the URL of its server (add a database) and its stop."""
    bindir = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    as_pg, data, port = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [], \
        tmp / "pg", free_port()
    tmp.chmod(0o755)  # the postgres user reaches its folder inside
    data.mkdir()
    if as_pg:
        shutil.chown(data, "postgres", "postgres")
    for cmd in (["initdb", "--no-sync", "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8"], ["pg_ctl", "-w", "-l", f"{data}/log", "-o", f"-p {port} "
                 f"-k {data} -c listen_addresses=127.0.0.1 -c max_connections=500", "start"]):
        subprocess.run([*as_pg, str(bindir / cmd[0]), "-D", f"{data}/db", *cmd[1:]], check=True,
                       capture_output=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/", \
        [*as_pg, str(bindir / "pg_ctl"), "-D", f"{data}/db", "-m", "fast", "-w", "stop"]


NGINX = """pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
{user}worker_processes 1;
worker_rlimit_nofile 65536;
events {{ worker_connections 30000; }}
http {{
  access_log off;
{temps}  upstream web {{
{servers}  }}
  server {{
    listen 127.0.0.1:{port};
    proxy_set_header Host $http_host;
    location = /events {{ proxy_pass http://web; proxy_buffering off; proxy_read_timeout 1h; }}
    location / {{ proxy_pass http://web; proxy_read_timeout 120s; }}
  }}
}}
"""


class Stack:
    """redis-server, the mail catcher, RQ workers and `webs` gunicorn (gevent) processes as
    deploy/'s units start them (more than one: behind nginx, round-robin, as
    deploy/nginx-helpline.conf), on free ports and a temp dir (tmp, deleted after a `with`
    block; logs in tmp/<child>.log). timing=True: helpline/timing.py logs each request's
    server time (HELPLINE_TIMING_LOG). attach: a file a running Stack wrote (write_attach):
    use its processes instead of starting any (`--stack` of loadtest, reminders, email_ping)."""

    def __init__(self, url: str | None, name: str, workers: int = 1, catcher: bool = True,
                 web: bool = True, timing: bool = False, webs: int = 1,
                 attach: str | None = None, **env) -> None:
        self.tmp = tmp = Path(tempfile.mkdtemp(prefix=f"helpline-{name}-"))
        url, self.procs, self.attached = url or f"sqlite:///{tmp / name}.db", [], attach
        self.workers, self.catcher, self.web, self.webs = workers, catcher, web, webs
        self.redis_port, self.smtp_port, self.web_port = free_port(), free_port(), free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.env = dict(os.environ, DATABASE_URL=url, BASE_URL=self.base_url,
                        REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0", MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=str(self.smtp_port), MAIL_CATCHER_DIR=str(tmp / "mail"),
                        EXPORT_DIR=str(tmp / "exports"), PYTHONUNBUFFERED="1")
        self.env.update(env)  # the caller's settings win
        if timing:  # helpline/timing.py: written per request (so by the web processes only)
            self.env["HELPLINE_TIMING_LOG"] = str(tmp / "timing.log")
        self.masters, self.web_pids, self.worker_pids = [], [], []
        if attach:
            saved = json.loads(Path(attach).read_text())
            self.env.update(saved.pop("env"))
            self.__dict__.update(saved)  # base_url, web_port, pids, workers

    def setup(self) -> str:
        """What serves: the web processes, the workers, Redis and the database (for reports)."""
        n, catcher = len(self.web_pids), ", mail catcher" if self.catcher else ""
        return (f"{n} gunicorn gevent web process(es){' behind nginx' if n > 1 else ''}, "
                f"{self.workers} worker(s), one Redis{catcher}, {shown(self.env['DATABASE_URL'])}")

    def timing(self) -> list[list[str]]:
        """The timing log's rows, split at tabs (field 1: the pid, 7: the X-Bench header)."""
        log = self.env.get("HELPLINE_TIMING_LOG")
        lines = Path(log).read_text().splitlines() if log else []
        return [p for p in (ln.split("\t") for ln in lines) if len(p) == 8]

    def write_attach(self, path: Path) -> None:
        keys = ("DATABASE_URL", "REDIS_URL", "BASE_URL", "MAIL_SERVER", "MAIL_PORT",
                "MAIL_CATCHER_DIR", "HELPLINE_TIMING_LOG")
        path.write_text(json.dumps({"env": {k: self.env[k] for k in keys if k in self.env}, **{
            k: getattr(self, k) for k in ("base_url", "web_port", "masters",
                                          "web_pids", "worker_pids", "workers")}}))

    def app(self, **config):
        return make_app(self.env["DATABASE_URL"], REDIS_URL=self.env["REDIS_URL"], **config)

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        print("\n" + self.stop())
        shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, name: str, argv: list[str], port: int | None = None,
              sig: int = signal.SIGTERM) -> subprocess.Popen:
        with open(self.tmp / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((proc, sig))
        if port:
            wait_for_port(port, proc, name, timeout=60)
        return proc

    def flask(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], env=self.env,
                       cwd=ROOT, capture_output=True, check=True)

    def start(self, *redis_args: str) -> None:
        py = sys.executable
        if self.attached:
            return self.wait_workers()
        self.spawn("redis", [redis_server_binary(), "--port", str(self.redis_port), "--bind",
                             "127.0.0.1", "--dir", str(self.tmp), "--save", "", *redis_args],
                   self.redis_port)
        if self.catcher:
            self.spawn("catcher", [py, "-m", "helpline.catcher", "--port", str(self.smtp_port),
                                   "--dir", str(self.tmp / "mail")], self.smtp_port)
        self.worker_pids = [self.spawn(f"worker{i + 1}", [py, "-m", "helpline.worker"]).pid
                            for i in range(self.workers)]
        self.wait_workers()
        ports = [self.web_port] if self.webs == 1 else [free_port() for _ in range(self.webs)]
        for i, port in enumerate(ports if self.web else []):  # as deploy/helpline-web@.service
            # SIGINT: a quick shutdown (a graceful one waits for open SSE streams)
            master = self.spawn(f"web{i + 1}", [
                py, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-k", "gevent", "-w", "1",
                "--worker-connections", "1000", "--no-control-socket", "--timeout", "120", "-b",
                f"127.0.0.1:{port}", "app:app"], port, signal.SIGINT)
            self.masters.append(master.pid)
            while not (kids := psutil.Process(master.pid).children()):
                time.sleep(0.05)
            self.web_pids.append(kids[0].pid)
        if self.web and self.webs > 1:
            temps = "".join(f"  {k}_temp_path {self.tmp}/nginx-{k};\n"
                            for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            (self.tmp / "nginx.conf").write_text(NGINX.format(
                tmp=self.tmp, user="user root;\n" if os.geteuid() == 0 else "", temps=temps,
                port=self.web_port, servers="".join(f"    server 127.0.0.1:{p} max_fails=0;\n"
                                                    for p in ports)))
            self.nginx_pid = self.spawn("nginx", [
                shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(self.tmp), "-c",
                str(self.tmp / "nginx.conf"), "-g", "daemon off;"], self.web_port).pid

    def wait_workers(self, timeout: float = 60) -> None:
        """Wait until every RQ worker has registered (and note Redis's version)."""
        import redis
        from rq import Worker
        conn, started = redis.Redis.from_url(self.env["REDIS_URL"]), time.monotonic()
        while Worker.count(connection=conn) < self.workers:
            if time.monotonic() - started > timeout:
                raise SystemExit(f"the workers did not register within {timeout:.0f} s")
            time.sleep(0.05)
        self.redis_version = conn.info("server")["redis_version"]

    def stop(self) -> str:
        """Signal each child's process group (newest first), then SIGKILL what is left of it."""
        procs, self.procs = self.procs, []
        for proc, sig in reversed(procs):
            for s, wait in ((sig, 15), (signal.SIGKILL, 5)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, s)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(wait)
        return f"stopped {len(procs)} child processes"
