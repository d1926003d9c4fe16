"""Retention benchmark: the worker's retention run erases --due backdated contacts in batches
while another thread saves every 50 ms. Target: no save waits more than 200 ms.
"""

import os
import time
from datetime import timedelta

import common
from common import db, pct
from sqlalchemy import func, select, update

from helpline.cases.models import Case
from helpline.contacts.models import Contact
from helpline.review import retention
from helpline.timeutil import utcnow


def backdate(due: int, years: int) -> list[int]:
    """Make the first `due` contacts (and their cases) inactive for longer than `years`."""
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


def main() -> None:
    args = common.options(__doc__, contacts=10_000, due=10_000, database_url=None)
    due = min(args.due, args.contacts - 1)  # one contact stays, for the saves
    with common.Stack(args.database_url, "retention", workers=0, catcher=False, web=False) as stack:
        stack.start()
        run(stack.app(), args, due)


def run(app, args, due: int) -> None:
    years = app.config["RETENTION_YEARS"]
    with app.app_context():
        common.migrate()
        me, handlers = common.make_people_and_lists()
        print(f"# generating {args.contacts:,} contacts with a case each …", flush=True)
        load_s = common.load_cases(args.contacts, me, handlers)["seconds"]
        backdated = backdate(due, years)
        due = len(retention.due_contacts(retention.cutoff_for(years)))
        keep = db.session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
        dialect = db.engine.dialect.name
    pause_ms = (retention.SQLITE_PAUSE_SECONDS if dialect == "sqlite" else 0) * 1000
    load_before = os.getloadavg()[0]
    common.header(f"retention ({dialect})")
    print(f"# {args.contacts:,} contacts generated in {load_s:.1f} s; {len(backdated):,} "
          f"backdated (no activity for {years}+ years), of which {due:,} due (the other "
          f"{len(backdated) - due:,} hold nothing identifying); each record committed on its "
          f"own, batches of <= {retention.BATCH_SIZE} records or {retention.BATCH_SECONDS} s, "
          f"{pause_ms:.0f} ms pause between batches; a save every 50 ms\n", flush=True)
    saver = common.Saver(app, lambda: keep)
    saver.start()
    t0 = time.perf_counter()
    with app.app_context():
        report = retention.run_once_today(app.extensions["redis"], years)
        again = retention.run_once_today(app.extensions["redis"], years)
    seconds = time.perf_counter() - t0
    saver.stop.set()
    saver.join()
    with app.app_context():
        left = sum(db.session.scalar(select(func.count(Contact.id)).where(
            Contact.id.in_(backdated[i:i + 500]), retention._identifiable()))
            for i in range(0, len(backdated), 500))
    w = saver.waits
    print(f"{'erased':>8} {'requests':>8} {'batches':>8} {'seconds':>8} {'per s':>8}")
    print(f"{len(report.contacts):>8,} {len(report.requests):>8,} {report.batches:>8,} "
          f"{seconds:>8.1f} {len(report.contacts) / seconds:>8.1f}")
    print(f"\nsaves during the run: {len(w)} ok, {saver.refused} refused; wait ms "
          f"p50 {pct(w, .5):.1f}  p95 {pct(w, .95):.1f}  max {max(w, default=float('nan')):.1f}")
    print(f"load average (1 min): before {load_before:.2f}, during the run max "
          f"{max(saver.loads):.2f}, last {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"second run the same day (another worker): {'skipped' if again is None else 'RAN'}")
    print(f"due contacts erased: {len(report.contacts):,} of {due:,}; backdated contacts still "
          f"holding identifying data: {left:,}")
    print("\ntarget: every save waits <= 200 ms; the run is done in batches, once")


if __name__ == "__main__":
    main()
