"""`make bench`: each step in its own process, its output in results/, the figures in RESULTS.md."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import common

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"


def run(name: str, args: list[str], timeout: float = 7200) -> dict:
    """Run one step; its output (less INFO log lines) goes to results/<name>.txt."""
    print(f"\n== {name}: {' '.join(args)}", flush=True)
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, *args], cwd=common.ROOT, capture_output=True,
                              text=True, timeout=timeout)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = "timeout", exc.stdout or b""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
    text = "\n".join(ln for ln in out.splitlines() if not re.match(
        r"^(INFO|DEBUG|WARNING):|^\[\d{4}-|^\d{2}:\d{2}:\d{2} ", ln))
    (OUT / f"{name}.txt").write_text(text + "\n")
    step = {"name": name, "cmd": "python " + " ".join(args), "code": code,
            "seconds": time.monotonic() - t0}
    print(f"   {name}: exit {code} in {step['seconds']:.0f} s", flush=True)
    (OUT / f"{name}.step.json").write_text(json.dumps(step))
    return dict(step, text=text)


def earlier(name: str) -> dict | None:
    """A step not run this time (--only): its record from the last run, if any."""
    if not (meta := OUT / f"{name}.step.json").exists():
        return None
    step = json.loads(meta.read_text())
    return dict(step, text=(OUT / f"{name}.txt").read_text(), cmd=step["cmd"] + "  (earlier run)")


def report_tail(text: str, max_lines: int = 70) -> str:
    """The report part of a benchmark's output: from its '# Helpline' header, else the tail."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("# Helpline")), None)
    part = lines[start:] if start is not None else lines[-max_lines:]
    return "\n".join(part[-max_lines * 2:])


SECTIONS = {"dataset": "Dataset", "loadtest": "Load test: the call flow",  # from their --json
            "scaleout": "Scale-out: N web processes behind nginx, PostgreSQL, one Redis",
            "page_weight": "Page weight"}


def write_results(m: dict, args, sections: dict, steps: list[dict]) -> str:
    """RESULTS.md: the machine, the SECTIONS and their target verdicts, each step's report."""
    ds = sections["dataset"] or {}
    L = ["# Helpline benchmark results\n", f"Written by `make bench` (`benchmarks/run_all.py "
         f"--scale {args.scale:g}`). " + ("**Full scale.**" if args.scale >= 1 else
                                         f"**Reduced scale {args.scale:g}** (the targets are set "
                                         "for scale 1: `make bench` with no SCALE runs it)."),
         "", "## Machine\n", "| | |", "| --- | --- |"]
    L += [f"| {label} | {m[k]} |" for k, label in (
        ("cpu", "CPU"), ("cores", "cores"), ("ram_gb", "RAM (GB)"), ("os", "OS"),
        ("python", "Python"), ("sqlite", "SQLite library"), ("date", "date"), ("commit", "commit"))]
    L += [f"| database | {ds.get('version', '?')} ({ds.get('url', '?')}) |",
          f"| load average before / after | {m['load_before'][0]:.2f} / "
          f"{m['load_after'][0]:.2f} (other work on the machine shares its 2 cores) |"]
    verdicts = []
    for name, title in SECTIONS.items():
        section = sections[name]
        L += ["", f"## {title}\n", (section or {}).get("markdown") or (
            f"**The {name} step failed** — see benchmarks/results/{name}.txt." if not section
            else f"(an earlier version's run: see benchmarks/results/{name}.txt)")]
        verdicts += section.get("verdicts", []) if section else []
    scale_note = "" if args.scale >= 1 else f" (at scale {args.scale:g})"
    L += ["", "## Targets\n"] + common.md_table("target | result | figure", "l l l", [
        (name, ("PASS" if ok else "FAIL") + scale_note, figure) for name, ok, figure in verdicts])
    L += ["", "## Per-feature benchmarks\n",
          "Each script's own report (full output in `benchmarks/results/`).\n"]
    for s in steps:
        if s["name"] not in SECTIONS:
            status = "ok" if s["code"] == 0 else f"**exit {s['code']}**"
            L += [f"### {s['name']} — {status}, {s['seconds']:.0f} s\n", f"`{s['cmd']}`\n",
                  "```\n" + report_tail(s["text"]) + "\n```\n"]
    L += ["## Steps\n"] + common.md_table("step | command | exit | seconds", "l l l r", [
        (s["name"], f"`{s['cmd']}`", s["code"], f"{s['seconds']:.0f}") for s in steps])
    return "\n".join(L) + "\n"


def main() -> None:
    # --only: the steps to run, comma-separated (default: all); the rest from results/
    args = common.options(__doc__, scale=1.0, database_url=os.environ.get("DATABASE_URL"),
                          users=None, load_seconds=180.0, only=None, webs=2)
    OUT.mkdir(exist_ok=True)
    m = common.machine()
    n, small = max(1, round(1_000_000 * args.scale)), args.scale < 0.1
    args.users = args.users or ("50,150" if small else "200,600,1000")  # the knee: in turn
    url = args.database_url or common.bench_url(args.scale)
    db, out = ["--database-url", url], lambda name: ["--json", str(OUT / f"{name}.json")]
    plan = [  # (name, command[, timeout: default 2 hours])
        ("dataset", ["dataset.py", "--scale", f"{args.scale:g}", *db, "--volunteers",
                     str(max(200, *map(int, args.users.split(",")))), *out("dataset")]),
        # --webs: web processes (more than one: behind nginx)
        ("loadtest", ["loadtest.py", *db, "--users", args.users, "--seconds",
                      f"{args.load_seconds:g}", "--webs", str(args.webs), *out("loadtest")],
         args.load_seconds * len(args.users.split(",")) + 1800),
        # PostgreSQL (its own, or DATABASE_URL's server), the 100k dataset at most, N = 1, 2, 4
        ("scaleout", ["scaleout.py", "--scale", f"{min(args.scale, 0.1):g}", "--users",
                      "60" if small else "200,600", "--seconds", "30" if small else "90",
                      "--reminder-users", "50" if small else "200", *out("scaleout"),
                      *(["--database-url", url] if url.startswith("postgres") else [])], 7200),
        ("page_weight", ["page_weight.py", *db, *out("page_weight")], 1800),
        ("contacts_search", ["contacts_search.py", "--contacts", str(n)]),
        ("case_page", ["case_page.py", "--contacts", str(n)]),
        ("handler_autocomplete", ["handler_autocomplete.py"]),
        ("export", ["export.py", "--cases", str(max(1000, round(100_000 * args.scale)))]),
        ("erasure", ["erasure.py", *db, "--scale", str(args.scale), "--subjects", "30"]),
        # 10,599 backdated: 10,035 due (5% hold nothing identifying), the 10,000
        ("retention", ["retention.py", "--contacts", "2000" if small else "10600", "--due",
                       "1000" if small else "10599"]),
        ("email_ping", ["email_ping.py"]),
        ("reminders", ["reminders.py", *(["--users", "50", "--spread", "30"] if small else [])]),
        ("screen_pop", ["screen_pop.py", *(["--pages", "50", "--calls", "10"] if small else [])]),
        ("foundation", ["bench_foundation.py"]),
        ("lowspec", ["lowspec.py"]),  # Chromium CPU ×6 + Slow 3G: usable ≤ 3 s
    ]
    steps = []
    for name, cmd, *timeout in plan:
        if not args.only or name in args.only.split(","):
            steps.append(run(name, ["benchmarks/" + cmd[0], *cmd[1:]], *timeout))
        elif step := earlier(name):
            steps.append(step)
    ok = {s["name"] for s in steps if s["code"] == 0}
    sections = {k: json.loads((OUT / f"{k}.json").read_text()) if k in ok else None
                for k in SECTIONS}
    m["load_after"] = os.getloadavg()
    (HERE / "RESULTS.md").write_text(write_results(m, args, sections, steps))
    print(f"\nwrote {HERE / 'RESULTS.md'}")
    if len(ok) < len(steps):
        print(f"steps that failed: {', '.join(s['name'] for s in steps if s['code'] != 0)}")


if __name__ == "__main__":
    main()
