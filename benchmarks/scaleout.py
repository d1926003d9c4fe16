"""Scale-out proof: PostgreSQL, one Redis, N web processes behind nginx, M workers (RESULTS.md).

A throwaway PostgreSQL cluster (Debian's binaries; or --database-url: a server on which it may
create databases) gets dataset.py once; for each N (--webs) a copy of it, one Redis, the mail
catcher, M workers and N gunicorn processes as deploy/'s units run them behind nginx; then
loadtest.py, reminders.py and email_ping.py run through it (--stack), each in its own process."""

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import psutil
from sqlalchemy import create_engine, text


def cpu(pids: list[int]) -> float:
    """CPU seconds of these processes, their live descendants and their reaped children."""
    total = 0.0
    for p in (psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)):
        with common.contextlib.suppress(psutil.Error):  # a job that has just ended
            t = p.cpu_times()
            total += sum(t[:4]) + sum(sum(c.cpu_times()[:2]) for c in p.children(True))
    return total


def step(script: str, *args: str) -> str:
    out = subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=common.ROOT,
                         capture_output=True, text=True, timeout=3600)
    print(out.stdout[-5000:] + out.stderr[-2000:], flush=True)
    return out.stdout


def one_n(url: str, n: int, args, tmp: Path, pg_pid: list[int]) -> dict:
    with common.Stack(url, f"scaleout-{n}", workers=args.workers, webs=n, timing=True,
                      REMINDER_POLL_SECONDS="0.5") as stack:
        stack.start("--appendonly", "no", "--maxclients", "10000")
        stack.write_attach(attach := tmp / f"stack-{n}.json")
        groups = {"web": stack.masters, "workers": stack.worker_pids, "PostgreSQL": pg_pid,
                  "nginx": [stack.nginx_pid] if n > 1 else []}
        was, t0, load = {k: cpu(v) for k, v in groups.items()}, time.monotonic(), os.getloadavg()
        was |= {"machine": psutil.cpu_times(), "kids": resource.getrusage(resource.RUSAGE_CHILDREN)}
        step("loadtest.py", "--stack", str(attach), "--users", args.users, "--seconds",
             f"{args.seconds:g}", "--json", str(tmp / "lt.json"))
        wall, now, kids = time.monotonic() - t0, psutil.cpu_times(), \
            resource.getrusage(resource.RUSAGE_CHILDREN)
        split = {k: (cpu(v) - was[k]) / wall for k, v in groups.items()}
        split["load generator"] = (kids.ru_utime + kids.ru_stime - was["kids"].ru_utime
                                   - was["kids"].ru_stime) / wall
        busy = [sum(t) - t.idle - t.iowait for t in (was["machine"], now)]
        split["rest"] = max(0.0, (busy[1] - busy[0]) / wall - sum(split.values()))
        result = {"n": n, "load": [load[0], os.getloadavg()[0]], "split": split}
        step("reminders.py", "--stack", str(attach), "--users", str(args.reminder_users),
             "--spread", f"{args.spread:g}", "--json", str(tmp / "rem.json"))
        out = step("email_ping.py", "--stack", str(attach), "--assignments", str(args.mails))
    mail = re.search(r"exactly one mail: (\d+)/(\d+); duplicates: (\d+); missing: (\d+)", out)
    return dict(result, lt=json.loads((tmp / "lt.json").read_text()), mail=[
        int(x) for x in mail.groups()] if mail else [0, 1, 0, 1],
        rem=json.loads((tmp / "rem.json").read_text()))


def report(runs: list[dict], args) -> dict:
    fmt, rows, ok = common.fmt, [], True
    for r in runs:
        lt, rem, mail, n = r["lt"], r["rem"], r["mail"], r["n"]
        procs, held = lt["pages_by_process"], rem["by_process"].values()
        # the proof; failed requests (an overloaded process: 5xx, time-outs) are capacity
        good = (len(procs) == len(rem["by_process"]) == n and rem["ok"] and not lt["lost_sessions"]
                and (n == 1 or lt["spread"] > 0) and mail[0] == mail[1] > 0 == mail[2]
                and all(v[2] == v[1] > 0 for v in held))
        ok &= good
        rows += [(n, s["users"], f"{s['a_rps']:.1f}", fmt(s["a_all"]["p95"]),
                  fmt(s["client_all"][1]), s["failed"], f"{s['flows']} / {s['allowed']:.0f}",
                  " → ".join(f"{x:.2f}" for x in s["load"])) for s in lt["series"]]
        rows[-1] += (" ".join(map(str, procs.values())), f"{lt['spread']}/{lt['volunteers']}",
                     " ".join(f"{v[2]}/{v[1]}" for v in held), rem["duplicates"],
                     f"{mail[0]}/{mail[1]}, {mail[2]}",
                     " / ".join(f"{v:.2f}" for v in r["split"].values()), "yes" if good else "NO")
    L = [f"{runs[0]['lt']['setup']} (N web processes; dataset.py --scale {args.scale:g}, a fresh "
         "copy for each N; nginx: round-robin upstream, /events unbuffered). Through nginx: "
         f"loadtest.py ({args.users} volunteers in turn, {args.seconds:g} s of A/B blocks each), "
         f"reminders.py ({args.reminder_users} open pages, 4 call backs each due over "
         f"{args.spread:g} s), email_ping.py ({args.mails} assignment mails sent by the "
         f"{args.workers} workers).", "",
         "Sessions: each volunteer signs in once; nginx sends each request to the next process; "
         "the timing log names the process (pid) that served every signed-in page (200). Events: "
         "each open page's /events stream is held by one process (timing log); whichever worker "
         "claims a reminder, it must reach the streams on every process, once. Proof: every "
         "process served signed-in pages, volunteers were served by more than one and none was "
         "sent to sign in, every reminder and mail arrived once (failed requests: capacity).", ""]
    L += common.md_table(
        "N | volunteers | flow req/s | server p95 ms | client p95 ms | failed | flows / allowed | "
        "load average | signed-in pages per process | volunteers on >1 process | reminders "
        "once / due per process | duplicate reminders | mails once / sent, duplicates | CPU "
        "cores: " + " / ".join(runs[0]["split"]) + " | proof", "r r r r r r r l l r l r l l l",
        rows)
    L += ["", "CPU cores: CPU seconds per second of the load test (2 = both cores); `rest`: "
          "everything else on the machine (other work shares its cores)."]
    return {"markdown": "\n".join(L), "runs": runs, "verdicts": [(
        "scale-out: sessions on any process, live events on every process, reminders and mails "
        "once", ok, "; ".join(f"N={r['n']}: knee {r['lt']['knee']} volunteers at client p95 "
                              "≤ 150 ms" for r in runs))]}


def main() -> None:
    args = common.options(__doc__, database_url=None, scale=0.01, webs="1,2,4", workers=2,
                          users="200", seconds=120.0, reminder_users=200, spread=60.0,
                          mails=100, json=None)
    tmp = Path(tempfile.mkdtemp(prefix="helpline-scaleout-"))
    server, stop = (args.database_url.rsplit("/", 1)[0] + "/", None) if args.database_url \
        else common.postgres(tmp)
    pg_pid = [] if stop is None else [int((tmp / "pg/db/postmaster.pid").read_text().split()[0])]
    admin = create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    volunteers, runs = max(200, *map(int, args.users.split(","))), []
    try:
        for n in ["base", *args.webs.split(",")]:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS scaleout_{n}"))
                conn.execute(text(f"CREATE DATABASE scaleout_{n}"
                                  + (" TEMPLATE scaleout_base" if n != "base" else "")))
            if n == "base":
                step("dataset.py", "--scale", f"{args.scale:g}", "--database-url",
                     server + "scaleout_base", "--volunteers", str(volunteers))
            else:
                runs.append(one_n(server + f"scaleout_{n}", int(n), args, tmp, pg_pid))
        result = report(runs, args)
    finally:
        admin.dispose()
        subprocess.run(stop or ["true"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    common.show("scale-out", result)
    common.write_json(args.json, result)


if __name__ == "__main__":
    main()
