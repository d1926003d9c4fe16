"""Export benchmark: 100,000 reviewed cases to CSV and XLSX (time, CPU, peak RSS growth) and
atomicity: an export killed half way marks nothing and leaves no file; the rerun puts each case in
one file."""

import contextlib
import csv
import ctypes
import gc
import os
import threading
import time
from pathlib import Path
from unittest import mock

import common
from common import db, rss_mb
from sqlalchemy import update

from helpline.cases.models import Case
from helpline.jobs import set_job_app
from helpline.review import exports
from helpline.review.models import ExportBatch
from helpline.timeutil import utcnow


def run_sampled(batch_id: int) -> tuple[float, float, float, float]:
    """The export run as the worker runs it: seconds, CPU s, RSS before and peak (MB, per 20 ms)."""
    gc.collect(), ctypes.CDLL(None).malloc_trim(0)  # freed memory back to the OS: growth shows
    peak, done, cpu = [rss_mb()], threading.Event(), time.process_time()

    def sample() -> None:
        while not done.wait(0.02):
            peak.append(rss_mb())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    seconds, _ = common.timed(exports.run_export, batch_id)
    done.set()
    sampler.join()
    return seconds, time.process_time() - cpu, peak[0], max(peak)


def new_batch(app, me: int, fmt: str, filters: dict) -> int:
    with app.app_context():
        batch = ExportBatch(created_by_id=me, filters=filters, fmt=fmt)
        db.session.add(batch)
        db.session.commit()
        return batch.id


def main() -> None:
    args = common.options(__doc__, cases=100_000)
    with common.fresh_app(args, "export", what=f"{args.cases:,} contacts and cases") as app:
        set_job_app(app)
        with app.app_context():
            me, handlers = common.make_people_and_lists()
            load_s = common.load_cases(args.cases, me, handlers)["seconds"]
            db.session.execute(update(Case).values(review_state="Accepted", reviewed_at=utcnow(),
                                                   reviewed_by_id=me))
            db.session.commit()
            dialect = db.engine.dialect.name
        common.header(f"export ({dialect})")
        print(f"# {args.cases:,} reviewed cases generated in {load_s:.1f} s\n")
        formats(app, me)
        atomicity(app, me, args.cases)
        print(f"load average (1 min) after: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")


def formats(app, me: int) -> None:
    """All reviewed cases to CSV, then to XLSX: time, RSS and the marking transaction."""
    finish_s: list[float] = []
    real_finish = exports._finish  # marks the cases + records the file, one transaction

    def finish(*a, **kw):
        seconds, out = common.timed(real_finish, *a, **kw)
        finish_s.append(seconds)
        return out
    rows = []
    with mock.patch.object(exports, "_finish", finish):
        for fmt in ("csv", "xlsx"):
            seconds, cpu, before, peak = run_sampled(batch_id := new_batch(app, me, fmt, {}))
            with app.app_context():
                b = db.session.get(ExportBatch, batch_id)
                rows.append([fmt, f"{b.total:,}", f"{seconds:.1f}", f"{cpu:.1f}",
                             f"{b.total / seconds:,.0f}", f"{before:.1f}", f"{peak - before:.1f}",
                             f"{Path(b.file_path).stat().st_size / 1e6:.1f}", f"{finish_s[-1]:.2f}"])
    common.table([("format", -7), ("rows", 9), ("seconds", 8), ("CPU s", 6), ("rows/s", 9),
                  ("RSS before MB", 14), ("RSS growth MB", 14), ("file MB", 8), ("mark s", 7)], rows)
    print("\ntarget (issue 17): CSV <= 3 s, XLSX <= 10 s, peak memory growth <= 100 MB")


def atomicity(app, me: int, cases: int) -> None:
    """Kill an export half way, run it again: every case in exactly one file."""
    print("\n# atomicity: an 'only not yet exported' CSV export killed half way, then again")
    with app.app_context():
        db.session.execute(update(Case).values(export_batch_id=None))
        db.session.commit()
    killed_id = new_batch(app, me, "csv", {"not_exported": True})
    # the chunk after the middle one raises, as if the worker died there
    dies = [mock.DEFAULT] * (cases // exports.PROGRESS_EVERY // 2) + [RuntimeError("killed")]
    t0 = time.perf_counter()
    with mock.patch.object(exports, "_chunk_details", wraps=exports._chunk_details,
                           side_effect=dies), contextlib.suppress(RuntimeError):
        exports.run_export(killed_id)
    killed_s = time.perf_counter() - t0
    with app.app_context():
        b = db.session.get(ExportBatch, killed_id)
        marked = common.count(Case, Case.export_batch_id.is_not(None))
        left = [p.name for p in Path(app.config["EXPORT_DIR"]).glob(f"*export-{killed_id}.*")]
        print(f"killed run: status {b.status}, {b.done_rows:,} of {b.total:,} rows written "
              f"before it died ({killed_s:.1f} s); cases marked exported: {marked}; "
              f"files left: {left or 'none'}")
    again_id = new_batch(app, me, "csv", {"not_exported": True})
    again_s, _ = common.timed(exports.run_export, again_id)
    with app.app_context():
        b = db.session.get(ExportBatch, again_id)
        with open(b.file_path, encoding="utf-8-sig", newline="") as fh:
            refs = [row[0] for row in csv.reader(fh)][1:]
        reviewed = common.count(Case, Case.reviewed_at.is_not(None))
        marked = common.count(Case, Case.export_batch_id == again_id)
    ok = marked == reviewed == len(refs) == len(set(refs)) and b.status == "done"
    print(f"run again: status {b.status} in {again_s:.1f} s; {len(refs):,} rows in the file, "
          f"{len(set(refs)):,} distinct; {marked:,} cases marked with it; {reviewed:,} "
          f"reviewed cases -> {'ATOMIC: every case in exactly one file' if ok else 'NOT ATOMIC'}")


if __name__ == "__main__":
    main()
