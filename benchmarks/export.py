"""Export benchmark: 100,000 reviewed cases to CSV and XLSX — time and peak memory.

    .venv/bin/python benchmarks/export.py                 # 100,000 cases on SQLite
    .venv/bin/python benchmarks/export.py --cases 20000   # quick check

The issue: "export 100,000 reviewed cases to CSV and XLSX; time and peak memory (target: CSV
<= 10 s, memory flat <= 150 MB)". Cases (with notes, signposts, referrals) are generated in
bulk by case_page.py's generator, marked Reviewed, then the real export job
(helpline.review.services.run_export) runs in this process for each format. Memory is the
process's resident memory before the export and its peak during it (sampled every 20 ms).
"mark s" is the final transaction that marks every case exported and records the file
(the only write that holds the database's write lock for more than a moment).

Then the atomicity check (issue 13): the marks are cleared, an "only not yet exported" CSV
export is killed half way (an exception injected at the middle chunk, as a killed worker
would stop), and the script checks that no case was marked and no file left; it runs the
export again and checks that every reviewed case is in exactly one file. --no-atomic skips it.
"""
from __future__ import annotations

import argparse
import os
import platform
import threading
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("SECRET_KEY", "benchmark")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import update  # noqa: E402

import case_page  # noqa: E402
from helpline import create_app  # noqa: E402
from helpline.cases.models import Case  # noqa: E402
from helpline.extensions import db  # noqa: E402
from helpline.jobs import set_job_app  # noqa: E402
from helpline.review import exports  # noqa: E402
from helpline.review.models import ExportBatch  # noqa: E402
from helpline.timeutil import utcnow  # noqa: E402


def rss_mb() -> float:
    """Current resident memory of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    """Samples RSS every 20 ms; .peak is the highest seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stop = rss_mb(), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-atomic", action="store_true", help="skip the atomicity check")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="helpline-export-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'export.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0",
                      "EXPORT_DIR": str(tmp / "exports")})
    set_job_app(app)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        me, handlers = case_page.make_people_and_lists()
        print(f"# generating {args.cases:,} contacts and cases …", flush=True)
        load_s = case_page.load(args.cases, me, handlers)
        db.session.execute(update(Case).values(status="Reviewed", reviewed_at=utcnow(),
                                               reviewed_by_id=me))
        db.session.commit()
        dialect = db.engine.dialect.name
    print(f"# Helpline export benchmark — {platform.node()}, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {dialect}")
    print(f"# {args.cases:,} reviewed cases generated in {load_s:.1f} s; load average (1 min) "
          f"before measuring: {os.getloadavg()[0]:.2f}\n")
    print(f"{'format':<7} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'RSS before MB':>14} "
          f"{'RSS peak MB':>12} {'file MB':>8} {'mark s':>7}")
    finish_s = timed_finish()
    for fmt in ("csv", "xlsx"):
        with app.app_context():
            batch = ExportBatch(created_by_id=me, filters={}, fmt=fmt)
            db.session.add(batch)
            db.session.commit()
            batch_id = batch.id
            db.session.remove()
        rss_before = rss_mb()
        sampler = RssSampler()
        sampler.start()
        t0 = time.perf_counter()
        exports.run_export(batch_id)
        seconds = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        with app.app_context():
            b = db.session.get(ExportBatch, batch_id)
            size = Path(b.file_path).stat().st_size / 1e6
            rows = b.total
        print(f"{fmt:<7} {rows:>9,} {seconds:>8.1f} {rows / seconds:>9,.0f} {rss_before:>14.1f} "
              f"{sampler.peak:>12.1f} {size:>8.1f} {finish_s[-1]:>7.2f}", flush=True)
    print("\ntarget: CSV <= 10 s and memory flat <= 150 MB")
    if not args.no_atomic:
        atomicity(app, me, args.cases)
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")


def timed_finish() -> list[float]:
    """Time exports._finish (mark the cases + record the file, one transaction)."""
    real, seconds = exports._finish, []

    def finish(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real(*a, **kw)
        finally:
            seconds.append(time.perf_counter() - t0)
    exports._finish = finish
    return seconds


def _new_batch(me: int) -> int:
    batch = ExportBatch(created_by_id=me, filters={"not_exported": True}, fmt="csv")
    db.session.add(batch)
    db.session.commit()
    return batch.id


def atomicity(app, me: int, cases: int) -> None:
    """Kill an export half way, run it again: every case in exactly one file."""
    import csv
    from sqlalchemy import func, select
    print("\n# atomicity: an 'only not yet exported' CSV export killed half way, then again")
    with app.app_context():
        db.session.execute(update(Case).values(export_batch_id=None))
        db.session.commit()
        killed_id = _new_batch(me)
        db.session.remove()
    chunks, real = [], exports._chunk_details
    middle = cases // exports.PROGRESS_EVERY // 2

    def dies_half_way(chunk, personal):
        chunks.append(1)
        if len(chunks) > middle:
            raise RuntimeError("worker killed half way")
        return real(chunk, personal)
    exports._chunk_details = dies_half_way
    t0 = time.perf_counter()
    try:
        exports.run_export(killed_id)
    except RuntimeError:
        pass
    killed_s = time.perf_counter() - t0
    exports._chunk_details = real
    with app.app_context():
        b = db.session.get(ExportBatch, killed_id)
        marked = db.session.scalar(select(func.count(Case.id)).where(
            Case.export_batch_id.is_not(None)))
        folder = Path(app.config["EXPORT_DIR"])
        left = [p.name for p in folder.glob(f"*export-{killed_id}.*")]
        print(f"killed run: status {b.status}, {b.done_rows:,} of {b.total:,} rows written "
              f"before it died ({killed_s:.1f} s); cases marked exported: {marked}; "
              f"files left: {left or 'none'}")
        again_id = _new_batch(me)
        db.session.remove()
    t0 = time.perf_counter()
    exports.run_export(again_id)
    again_s = time.perf_counter() - t0
    with app.app_context():
        b = db.session.get(ExportBatch, again_id)
        with open(b.file_path, encoding="utf-8-sig", newline="") as fh:
            refs = [row[0] for row in csv.reader(fh)][1:]
        reviewed = db.session.scalar(select(func.count(Case.id)).where(
            Case.reviewed_at.is_not(None)))
        marked = db.session.scalar(select(func.count(Case.id)).where(
            Case.export_batch_id == again_id))
    ok = marked == reviewed == len(refs) == len(set(refs)) and b.status == "done"
    print(f"run again: status {b.status} in {again_s:.1f} s; {len(refs):,} rows in the file, "
          f"{len(set(refs)):,} distinct; {marked:,} cases marked with it; {reviewed:,} "
          f"reviewed cases -> {'ATOMIC: every case in exactly one file' if ok else 'NOT ATOMIC'}")


if __name__ == "__main__":
    main()
