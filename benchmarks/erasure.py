"""Erasure benchmark: anonymise one contact with 20 cases in the full dataset while another
connection saves a contact every 50 ms. Targets: <= 1 s at 1M contacts; saves wait <= 200 ms.
"""

import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import common
from common import db, pct, utcnow
from sqlalchemy import select

from helpline.auth.models import User
from helpline.callback_requests.models import CallBackRequest
from helpline.callbacks.models import CallBack
from helpline.cases.services import add_note, create_case
from helpline.contacts.models import Contact
from helpline.interactions.models import Interaction
from helpline.review import privacy


def make_subject(n: int, actor: User) -> Contact:
    first, last = f"Benchmarkia{n}", f"Erasington{n}"
    phone = f"07700 9{n:05d}"[:12]
    contact = common.make_contact(actor, "bench", first, last, phone, email=f"b{n}@example.net",
                                  address=f"{n} Erasure Road")
    for i in range(20):
        case = create_case(contact, f"Case {i} for {first} {last}", actor)
        add_note(case, f"{first} rang from {phone} about parcel {i}", actor)
        add_note(case, f"Spoke to {first} {last} at {n} Erasure Road", actor)
        db.session.add(Interaction(enquirer_id=contact.id, case_id=case.id,
                                   notes=f"{first} {last} called", created_by_id=actor.id))
        if i % 2 == 0:
            db.session.add(CallBack(case=case, contact_number=phone,
                                    description=f"Ring {first} back", call_received_at=utcnow(),
                                    start_at=utcnow() + timedelta(days=3), owner_id=actor.id,
                                    end_at=utcnow() + timedelta(days=3, minutes=30)))
    db.session.add(CallBackRequest(full_name=f"{first} {last}", contact_number=phone, anytime=True,
                                   nature="New Application", created_by_id=actor.id))
    db.session.commit()
    return contact


def main() -> None:
    args = common.options(__doc__, scale=1.0, database_url=None, subjects=3)
    url = args.database_url or common.bench_url(args.scale)
    # The dataset at this scale, reused if there (dataset.py --keep), in a process of its own.
    subprocess.run([sys.executable, str(Path(__file__).with_name("dataset.py")), "--scale",
                    f"{args.scale:g}", "--database-url", url, "--volunteers", "0", "--keep"],
                   check=True)
    app = common.make_app(url, EXPORT_DIR=str(Path(url.split("///")[-1]).parent / "exports"))
    with app.app_context():
        actor = db.session.scalar(select(User).where(User.role == "supervisor"))
        other_ids = list(db.session.scalars(select(Contact.id).limit(5000)))
        common.header("erasure")
        print(f"# {url.split('@')[-1]}: {common.count(Contact):,} contacts; {args.subjects} "
              "subjects with 20 cases each", flush=True)
        times, all_waits = [], []
        for n in range(args.subjects):
            subject = make_subject(random.randint(10000, 99999), actor)
            saver = common.Saver(app, lambda: random.choice(other_ids))
            saver.start()
            time.sleep(0.3)  # the saver is running before the erasure starts
            t0 = time.perf_counter()
            changed = privacy.anonymise(subject, "Benchmark erasure", actor)
            db.session.commit()
            elapsed = (time.perf_counter() - t0) * 1000
            time.sleep(0.3)
            saver.stop.set()
            saver.join()
            times.append(elapsed)
            all_waits += saver.waits
            print(f"subject {n + 1}: anonymise + commit {elapsed:.0f} ms ({changed} rows); "
                  f"concurrent saves {len(saver.waits)}: max wait {max(saver.waits):.0f} ms",
                  flush=True)
            left = db.session.get(Contact, subject.id)
            assert left.first_name is None and left.anonymised_at is not None
        print(f"anonymise one contact with 20 cases: n={len(times)} p50 {pct(times, 0.5):.0f} ms, "
              f"p95 {pct(times, 0.95):.0f} ms, max {max(times):.0f} ms (target <= 1000 ms)")
        print(f"concurrent saves: n={len(all_waits)} p50 {pct(all_waits, 0.5):.1f} ms, "
              f"p95 {pct(all_waits, 0.95):.1f} ms, max {max(all_waits):.1f} ms (target <= 200 ms)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
