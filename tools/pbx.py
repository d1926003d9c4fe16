#!/usr/bin/env python3
"""Play a phone system (PBX) against Helpline's telephony endpoint: Zammad generic CTI
events (newCall, answer, hangup) in a realistic burst, for load tests and demos.

    python tools/pbx.py http://127.0.0.1:8000/telephony/<token> --calls 50 --per-minute 50
    python tools/pbx.py URL --numbers "07700 900123,+447700900456" --answer-rate 0.7

Each call rings (newCall), is answered after a few seconds by one of --users (extensions or
names; none: it rings for everyone signed in) or not (a missed call), and hangs up. Standard
library only, so it runs on the PBX host too. Prints one line per event and a summary.
"""
from __future__ import annotations

import argparse
import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


def send(url: str, fields: dict, as_json: bool = False) -> tuple[int, str]:
    """POST one event; (status, body)."""
    if as_json:
        data, ctype = json.dumps(fields).encode(), "application/json"
    else:
        data = urllib.parse.urlencode(fields, doseq=True).encode()
        ctype = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


def random_number(rng: random.Random) -> str:
    """A UK drama-range mobile (07700 900000–900999) in one of the formats PBXs send."""
    tail = f"{rng.randint(0, 999):03d}"
    return rng.choice([f"447700900{tail}", f"+447700900{tail}", f"07700900{tail}",
                       "anonymous"] if rng.random() < 0.05 else [f"447700900{tail}"])


def one_call(url: str, args, rng: random.Random, stats: dict, lock: threading.Lock) -> None:
    """newCall → (answer) → hangup, with pauses like a real call (scaled by --speed)."""
    call_id = uuid.uuid4().hex
    number = rng.choice(args.numbers) if args.numbers else random_number(rng)
    base = {"from": number, "to": args.to, "direction": "in", "callId": call_id}
    users = args.users or []
    events = [{**base, "event": "newCall", **({"user[]": users} if users else {})}]
    answered = rng.random() < args.answer_rate
    if answered:
        events.append({**base, "event": "answer",
                       **({"answeringNumber": rng.choice(users)} if users else {})})
    events.append({**base, "event": "hangup",
                   "cause": "normalClearing" if answered else rng.choice(["cancel", "noAnswer"])})
    for i, fields in enumerate(events):
        if i:
            time.sleep(rng.uniform(*((2, 6) if i == 1 else (20, 120))) / args.speed)
        t0 = time.monotonic()
        status, body = send(url, fields, args.json)
        with lock:
            stats.setdefault(status, 0)
            stats[status] += 1
            stats.setdefault("ms", []).append((time.monotonic() - t0) * 1000)
        if not args.quiet:
            print(f"{fields['event']:8} {number:16} {call_id[:8]} → {status} {body[:80]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", help="the endpoint, e.g. http://127.0.0.1:8000/telephony/<token>")
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--per-minute", type=float, default=50.0, help="new calls a minute")
    p.add_argument("--answer-rate", type=float, default=0.8)
    p.add_argument("--users", type=lambda s: [u.strip() for u in s.split(",") if u.strip()],
                   help="extensions or names the calls ring for (comma separated)")
    p.add_argument("--numbers", type=lambda s: [n.strip() for n in s.split(",") if n.strip()],
                   help="callers' numbers to use (default: random drama-range mobiles)")
    p.add_argument("--to", default="01632960000", help="the helpline's number")
    p.add_argument("--speed", type=float, default=1.0, help="10: calls ten times shorter")
    p.add_argument("--json", action="store_true", help="send JSON instead of a form")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    rng, stats, lock = random.Random(args.seed), {}, threading.Lock()
    threads = []
    for _ in range(args.calls):
        t = threading.Thread(target=one_call, args=(args.url, args, random.Random(rng.random()),
                                                    stats, lock), daemon=True)
        t.start()
        threads.append(t)
        time.sleep(rng.expovariate(args.per_minute / 60.0))  # arrivals: a Poisson process
    for t in threads:
        t.join()
    times = sorted(stats.pop("ms", [0.0]))
    print(f"{args.calls} calls; statuses {stats}; response p50 {times[len(times) // 2]:.0f} ms,"
          f" max {times[-1]:.0f} ms")


if __name__ == "__main__":
    main()
