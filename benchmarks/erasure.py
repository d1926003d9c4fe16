"""Erasure benchmark: anonymise one contact with 20 cases in the full dataset, while another
connection keeps saving; prints the anonymise time and how long each save waited.

    .venv/bin/python benchmarks/erasure.py                     # 1M contacts (dataset.py, --keep)
    .venv/bin/python benchmarks/erasure.py --scale 0.01        # quick run
    .venv/bin/python benchmarks/erasure.py --subjects 5        # more subjects, more figures

Issue 13's target: anonymising one contact with 20 cases at 1M contacts takes <= 1 s, and a
concurrent save waits <= 200 ms. For each subject the script creates a contact with 20 cases
(2 notes each, an interaction on each, a call back on every other case, a call-back request
matching the contact exactly, assignment mails and notifications), then runs
privacy.anonymise + COMMIT exactly as the admin's POST does, while a thread saves a
different contact every 50 ms in its own session (update + COMMIT, timed end to end).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("SECRET_KEY", "erasure-benchmark")

import dataset  # noqa: E402
from stack import pct  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from helpline import create_app  # noqa: E402
from helpline.auth.models import User  # noqa: E402
from helpline.callbacks.models import CallBack  # noqa: E402
from helpline.cases.services import add_note, create_case  # noqa: E402
from helpline.contacts.models import Contact  # noqa: E402
from helpline.contacts.services import create_contact  # noqa: E402
from helpline.extensions import db  # noqa: E402
from helpline.interactions.models import Interaction  # noqa: E402
from helpline.requests.models import CallBackRequest  # noqa: E402
from helpline.review import privacy  # noqa: E402
from helpline.timeutil import utcnow  # noqa: E402


def make_subject(n: int, actor: User) -> Contact:
    first, last = f"Benchmarkia{n}", f"Erasington{n}"
    phone = f"07700 9{n:05d}"[:12]
    contact = create_contact({
        "consent_status": "Consent given", "consent_given_by": "The Caller for themselves",
        "first_name": first, "last_name": last, "phone": phone, "postcode": "B1 1AA",
        "postcode_area": "B", "region": "West Midlands", "email": f"b{n}@example.net",
        "address": f"{n} Erasure Road"}, actor, session_id="bench")
    for i in range(20):
        case = create_case(contact, f"Case {i} for {first} {last}", actor)
        add_note(case, f"{first} rang from {phone} about parcel {i}", actor)
        add_note(case, f"Spoke to {first} {last} at {n} Erasure Road", actor)
        db.session.add(Interaction(enquirer_id=contact.id, case_id=case.id,
                                   notes=f"{first} {last} called", created_by_id=actor.id))
        if i % 2 == 0:
            db.session.add(CallBack(case=case, contact_number=phone,
                                    description=f"Ring {first} back", call_received_at=utcnow(),
                                    start_at=utcnow() + timedelta(days=3),
                                    end_at=utcnow() + timedelta(days=3, minutes=30),
                                    owner_id=actor.id))
    db.session.add(CallBackRequest(full_name=f"{first} {last}", contact_number=phone,
                                   anytime=True, nature="New Application",
                                   created_by_id=actor.id))
    db.session.commit()
    return contact


def saver(app, stop: threading.Event, waits: list[float], ids: list[int]) -> None:
    """Save a random other contact every 50 ms, each in its own session and transaction."""
    with app.app_context():
        while not stop.is_set():
            t0 = time.perf_counter()
            with Session(db.engine) as s:
                s.execute(update(Contact).where(Contact.id == random.choice(ids))
                          .values(preferred_contact_time=f"after {random.randint(1, 9)}pm"))
                s.commit()
            waits.append((time.perf_counter() - t0) * 1000)
            stop.wait(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url")
    parser.add_argument("--subjects", type=int, default=3)
    args = parser.parse_args()
    url = args.database_url or dataset.default_url(args.scale)
    dataset.prepare(url, args.scale, volunteers=0, keep=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0",
                      "MAIL_SUPPRESS_SEND": True, "SERVER_NAME": None,
                      "EXPORT_DIR": str(Path(url.split("///")[-1]).parent / "exports")})
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.role == "supervisor"))
        contacts = db.session.scalar(select(func.count(Contact.id)))
        other_ids = list(db.session.scalars(select(Contact.id).limit(5000)))
        print(f"# {url.split('@')[-1]}: {contacts:,} contacts; {args.subjects} subjects with "
              f"20 cases each; load average before: "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        times, all_waits = [], []
        for n in range(args.subjects):
            subject = make_subject(random.randint(10000, 99999), actor)
            waits: list[float] = []
            stop = threading.Event()
            thread = threading.Thread(target=saver, args=(app, stop, waits, other_ids))
            thread.start()
            time.sleep(0.3)  # the saver is running before the erasure starts
            t0 = time.perf_counter()
            changed = privacy.anonymise(subject, "Benchmark erasure", actor)
            db.session.commit()
            elapsed = (time.perf_counter() - t0) * 1000
            time.sleep(0.3)
            stop.set()
            thread.join()
            times.append(elapsed)
            all_waits += waits
            print(f"subject {n + 1}: anonymise + commit {elapsed:.0f} ms ({changed} rows); "
                  f"concurrent saves {len(waits)}: max wait {max(waits):.0f} ms", flush=True)
            left = db.session.get(Contact, subject.id)
            assert left.first_name is None and left.anonymised_at is not None
        print(f"anonymise one contact with 20 cases: n={len(times)} p50 {pct(times, 0.5):.0f} ms, "
              f"p95 {pct(times, 0.95):.0f} ms, max {max(times):.0f} ms (target <= 1000 ms)")
        print(f"concurrent saves: n={len(all_waits)} p50 {pct(all_waits, 0.5):.1f} ms, "
              f"p95 {pct(all_waits, 0.95):.1f} ms, max {max(all_waits):.1f} ms "
              f"(target <= 200 ms)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
