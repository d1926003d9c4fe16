"""Retention benchmark: erase due contacts in batches while another thread saves every 50 ms.

    .venv/bin/python benchmarks/retention.py                         # 10,000 due of 10,000
    .venv/bin/python benchmarks/retention.py --contacts 10000 --due 200   # quick check
    .venv/bin/python benchmarks/retention.py --database-url postgresql+psycopg://...

The issue: "retention over 10,000 due contacts runs in batches with no save waiting more
than 200 ms". Generates --contacts contacts, each with a case (case_page.py's generator),
backdates --due of them (and their cases) beyond RETENTION_YEARS (about 5% of those hold
nothing that identifies anyone: no consent, no postcode; they are not due, and the script
counts as due what retention.due_contacts selects), then runs the real
runner (helpline.review.retention.run_once_today, the worker's entry point, with its
Redis day lock on a throwaway redis-server) in one thread while another thread, every
50 ms, saves a contact that is not due (an UPDATE + COMMIT through its own session, as a
web request would) and times how long each save took. Prints the run's time, batches and
rate, each save's wait (p50/p95/max, count) and the load average sampled during the run,
and checks that no backdated contact still holding identifying data was left behind.
No timing is asserted; the figures are for RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("SECRET_KEY", "benchmark")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import case_page  # noqa: E402
from stack import free_port, pct, wait_port  # noqa: E402
from helpline import create_app  # noqa: E402
from helpline.cases.models import Case  # noqa: E402
from helpline.contacts.models import Contact  # noqa: E402
from helpline.extensions import db  # noqa: E402
from helpline.review import retention  # noqa: E402
from helpline.run import redis_server_binary  # noqa: E402
from helpline.timeutil import utcnow  # noqa: E402

SAVE_EVERY = 0.05


def backdate(due: int, years: int) -> list[int]:
    """Make the first `due` contacts (and their cases) inactive for longer than `years`;
    returns their ids."""
    from datetime import timedelta
    when = utcnow() - timedelta(days=365 * (years + 1))
    ids = list(db.session.scalars(select(Contact.id).order_by(Contact.id).limit(due)))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(update(Contact).where(Contact.id.in_(chunk)).values(
            created_at=when, updated_at=when, last_case_at=None))
        db.session.execute(update(Case).where(Case.caller_id.in_(chunk)).values(
            created_at=when, updated_at=when))
    db.session.commit()
    return ids


def left_behind(ids: list[int]) -> int:
    """Backdated contacts that still hold something identifying after the run."""
    left = 0
    for start in range(0, len(ids), 500):
        left += db.session.scalar(select(func.count(Contact.id)).where(
            Contact.id.in_(ids[start:start + 500]), retention._identifiable()))
    return left


class Saver(threading.Thread):
    """Saves a not-due contact every 50 ms in its own session; records each save's time."""

    def __init__(self, app, contact_id: int) -> None:
        super().__init__(daemon=True)
        self.app, self.contact_id = app, contact_id
        self.waits: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        with self.app.app_context():
            while not self.stop.wait(SAVE_EVERY):
                n += 1
                t0 = time.perf_counter()
                try:
                    with Session(db.engine) as s:
                        s.execute(update(Contact).where(Contact.id == self.contact_id)
                                  .values(preferred_contact_time=f"Save {n}"))
                        s.commit()
                    self.waits.append(time.perf_counter() - t0)
                except Exception as exc:  # a refused save is a result, not a crash
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:120])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batch-size", type=int, default=retention.BATCH_SIZE)
    args = parser.parse_args()
    due = min(args.due, args.contacts - 1)  # one contact stays, for the saves
    tmp = Path(tempfile.mkdtemp(prefix="helpline-retention-bench-"))
    port = free_port()
    redis = subprocess.Popen([redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                              "--dir", str(tmp), "--save", ""], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_port(port, redis, "redis")
        url = args.database_url or f"sqlite:///{tmp / 'retention.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                          "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
        run(app, args, due)
    finally:
        redis.terminate()
        redis.wait(10)


def run(app, args, due: int) -> None:
    years = app.config["RETENTION_YEARS"]
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        me, handlers = case_page.make_people_and_lists()
        print(f"# generating {args.contacts:,} contacts with a case each …", flush=True)
        load_s = case_page.load(args.contacts, me, handlers)
        backdated = backdate(due, years)
        due = len(retention.due_contacts(retention.cutoff_for(years)))
        keep = db.session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
        dialect = db.engine.dialect.name
        db.session.remove()
    pause_ms = (retention.SQLITE_PAUSE_SECONDS if dialect == "sqlite" else 0) * 1000
    print(f"# Helpline retention benchmark — {platform.node()}, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {dialect}")
    print(f"# {args.contacts:,} contacts generated in {load_s:.1f} s; {len(backdated):,} "
          f"backdated (no activity for {years}+ years), of which {due:,} due (the other "
          f"{len(backdated) - due:,} hold nothing identifying); each record committed on its "
          f"own, batches of <= {args.batch_size} records or {retention.BATCH_SECONDS} s, "
          f"{pause_ms:.0f} ms pause between batches; a save every "
          f"{SAVE_EVERY * 1000:.0f} ms\n", flush=True)
    saver, loads = Saver(app, keep), []
    sampling = threading.Event()

    def sample_load() -> None:
        while not sampling.wait(1.0):
            loads.append(os.getloadavg()[0])
    threading.Thread(target=sample_load, daemon=True).start()
    load_before = os.getloadavg()[0]
    saver.start()
    t0 = time.perf_counter()
    with app.app_context():
        report = retention.run_once_today(app.extensions["redis"], years,
                                          batch_size=args.batch_size)
        again = retention.run_once_today(app.extensions["redis"], years)
    seconds = time.perf_counter() - t0
    saver.stop.set()
    saver.join()
    sampling.set()
    with app.app_context():
        left = left_behind(backdated)
    w = [x * 1000 for x in saver.waits]
    print(f"{'erased':>8} {'requests':>8} {'batches':>8} {'seconds':>8} {'per s':>8}")
    print(f"{len(report.contacts):>8,} {len(report.requests):>8,} {report.batches:>8,} "
          f"{seconds:>8.1f} {len(report.contacts) / seconds:>8.1f}")
    print(f"\nsaves during the run: {len(w)} ok, {len(saver.errors)} refused; wait ms "
          f"p50 {pct(w, .5):.1f}  p95 {pct(w, .95):.1f}  max {max(w, default=float('nan')):.1f}")
    if saver.errors:
        print("  first refusal:", saver.errors[0])
    print(f"load average (1 min): before {load_before:.2f}, during the run max "
          f"{max(loads, default=os.getloadavg()[0]):.2f}, last {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} CPUs)")
    print(f"second run the same day (another worker): {'skipped' if again is None else 'RAN'}")
    print(f"due contacts erased: {len(report.contacts):,} of {due:,}; backdated contacts still "
          f"holding identifying data: {left:,}")
    print("\ntarget: every save waits <= 200 ms; the run is done in batches, once")


if __name__ == "__main__":
    main()
