"""Assignment email benchmark: saving an assignment to its mail in the catcher (RESULTS.md)."""

import math
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import common
from common import db, pct
from sqlalchemy import func, select

from helpline.auth.services import create_user, hash_password
from helpline.catcher import read_messages
from helpline.interactions.services import add_handlers, create_interaction
from helpline.mailer import OutboxMail
from helpline.timeutil import utcnow

TARGET_S = 5.0
SEED = 20240612
GAP = (0.02, 0.05)  # s between two saves
TIMEOUT, GRACE = 120.0, 3.0  # s to wait for every mail after the last save; then for duplicates
SETTLE = 5.0  # s after the worker registers: its threads have run a round, as in a long-lived one
REF = re.compile(r"\bINT\d+\b")


def assign_all(app, n: int, rng: random.Random) -> list[dict]:
    """The acting supervisor, n colleagues and a contact; one assignment per colleague."""
    pw_hash = hash_password("email-ping-password")
    actor = create_user("pat.dispatcher@example.org", "Pat Dispatcher", "supervisor", "",
                        password_hash=pw_hash)
    colleagues = common.make_volunteers(n, rng, "example.org", pw_hash)
    db.session.commit()
    contact = common.make_contact(actor, "email-ping-benchmark", "Robert", "Livingstone",
                                  "07700 900123")
    db.session.commit()
    done = []
    for i, colleague in enumerate(colleagues):
        interaction = create_interaction({
            "fully_anonymous": False, "enquirer_id": contact.id, "enquirer_country": "England",
            "interaction_date": utcnow(), "direction": rng.choice(["Inbound", "Outbound"]),
            "duration_mins": rng.randint(2, 45), "notes": f"Benchmark call {i + 1}"},
            [], [], actor, "")
        add_handlers(interaction, [colleague], actor,
                     f"{app.config['BASE_URL']}/interactions/{interaction.id}")
        ref, email = interaction.reference, colleague.email
        t0 = time.time()
        db.session.commit()
        done.append({"i": i, "ref": ref, "to": email, "commit_start": t0, "saved": time.time()})
        time.sleep(rng.uniform(*GAP))
    return done


def match(assignments: list[dict], messages: list[dict]) -> dict:
    """Messages per assignment (by INT reference), with the strays and wrong recipients."""
    by_ref = {a["ref"]: a for a in assignments}
    got: dict[str, list[dict]] = {}
    strays, wrong_to = [], []
    for m in messages:
        found = REF.search(m["subject"])
        a = by_ref.get(found.group(0)) if found else None
        if a is None:
            strays.append(m)
            continue
        got.setdefault(a["ref"], []).append(m)
        if m["to"].strip().lower() != a["to"]:
            wrong_to.append((a, m))
    for a in assignments:
        ms = sorted(got.get(a["ref"], []), key=lambda m: m["mtime"])
        a["arrived"], a["copies"] = (ms[0]["mtime"] if ms else None), len(ms)
    return {"strays": strays, "wrong_to": wrong_to}


def report(assignments: list[dict], checks: dict, setting: dict, outbox: dict) -> bool:
    """Print the figures; True when exactly one mail per assignment arrived."""
    common.header("assignment email", setting["load_before"])
    print(f"# embedded redis-server {setting['redis_version']}, mail catcher (aiosmtpd, "
          f"Maildir), {setting['setup']}")
    n = len(assignments)
    spread = assignments[-1]["saved"] - assignments[0]["saved"] if n > 1 else 0.0
    commit_ms = [(a["saved"] - a["commit_start"]) * 1000 for a in assignments]
    print(f"# {n} assignments via create_interaction + add_handlers + commit, one every "
          f"{GAP[0] * 1000:.0f}-{GAP[1] * 1000:.0f} ms "
          f"({spread:.1f} s from first to last save, {(n - 1) / spread if spread else 0:.1f}/s)")
    print(f"# commit (incl. enqueue after commit): p50 {statistics.median(commit_ms):.1f} ms, "
          f"p95 {pct(commit_ms, .95):.1f} ms, max {max(commit_ms):.1f} ms")
    print("# latency = the first copy's Maildir file mtime - time.time() when commit() returned\n")
    arrived = [a for a in assignments if a["arrived"] is not None]
    lat = [a["arrived"] - a["saved"] for a in arrived]
    if lat:
        print(common.spread("save -> catcher", lat, 16))
        quarter = max(1, math.ceil(len(arrived) / 4))
        parts = [arrived[i:i + quarter] for i in range(0, len(arrived), quarter)][:4]
        print("by quarter of the run (p50 / max): " + "; ".join(
            f"#{p[0]['i'] + 1}-{p[-1]['i'] + 1}: "
            f"{pct([a['arrived'] - a['saved'] for a in p], .5):.3f} / "
            f"{max(a['arrived'] - a['saved'] for a in p):.3f} s" for p in parts))
        last = max(a["arrived"] for a in arrived)
        print(f"last mail arrived {last - assignments[-1]['saved']:.2f} s after the last save; "
              f"delivery rate {len(arrived) / (last - assignments[0]['saved']):.1f} mails/s "
              "over the run")
    total = sum(a["copies"] for a in assignments)
    dupes = [a for a in assignments if a["copies"] > 1]
    missing = [a for a in assignments if a["copies"] == 0]
    print(f"\nmessages in the catcher: {total + len(checks['strays'])} "
          f"(matched to an assignment: {total}; expected exactly {n})")
    print(f"assignments with exactly one mail: {n - len(dupes) - len(missing)}/{n}; "
          f"duplicates: {len(dupes)}; missing: {len(missing)}; unmatched messages: "
          f"{len(checks['strays'])}; wrong recipient: {len(checks['wrong_to'])}")
    print("outbox rows by status: " + ", ".join(f"{k} {v}" for k, v in sorted(outbox.items())))
    p95 = f"{'yes' if pct(lat, .95) <= TARGET_S else 'NO'} ({pct(lat, .95):.3f} s)" \
        if lat and not missing else f"NO ({len(missing)} mail(s) never arrived)"
    print(f"\nsave -> catcher p95 <= {TARGET_S:.0f} s: {p95}")
    return total == n and not dupes and not missing and not checks["wrong_to"]


def main() -> int:
    # --stack: a running stack's file (common.Stack.write_attach): its workers send the mail
    args = common.options(__doc__, assignments=200, stack=None)
    with common.Stack(None, "ping", web=False, BASE_URL="http://127.0.0.1:8000",
                      attach=args.stack) as stack:
        maildir = Path(stack.env["MAIL_CATCHER_DIR"])
        stack.flask("db", "upgrade")
        stack.start("--appendonly", "no")
        time.sleep(SETTLE)
        app = stack.app(MAIL_SUPPRESS_SEND=False, MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=int(stack.env["MAIL_PORT"]), MAIL_CATCHER_DIR=str(maildir),
                        BASE_URL=stack.env["BASE_URL"])
        setting = {"redis_version": stack.redis_version, "load_before": os.getloadavg()[0],
                   "setup": f"{stack.workers} RQ worker(s) (python -m helpline.worker), "
                   f"{common.shown(stack.env['DATABASE_URL'])}"}
        with app.app_context():
            assignments = assign_all(app, args.assignments, random.Random(SEED))
            print(f"# {len(assignments)} assignments saved; waiting for the mail", flush=True)
            deadline = assignments[-1]["saved"] + TIMEOUT
            while time.time() < deadline and sum(  # files so far (parsed once, at the end)
                    1 for sub in ("new", "cur") if (maildir / sub).exists()
                    for _ in (maildir / sub).iterdir()) < len(assignments):
                time.sleep(0.1)
            time.sleep(GRACE)  # a duplicate would come now
            checks = match(assignments, read_messages(maildir))
            outbox = dict(db.session.execute(select(OutboxMail.status, func.count(OutboxMail.id))
                                             .group_by(OutboxMail.status)).all())
        ok = report(assignments, checks, setting, outbox)
        common.close(app)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
