"""Foundation benchmark: home page and /healthz under load, and static asset sizes.

Keep-alive clients per route in alternating blocks against common.Stack, timed at the client on
loopback: the figure to compare is the ratio to /healthz in the same run.
"""

import gzip
import http.client
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import brotli
import common
from common import ROOT


def load(port: int, path: str, cookie: str, clients: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds

    def client(_) -> tuple[list[float], int]:  # its latencies and errors
        conn, mine, bad = http.client.HTTPConnection("127.0.0.1", port, timeout=30), [], 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "gzip, br"})
                resp = conn.getresponse()
                resp.read()
                bad += resp.status >= 400 and not (path == "/healthz" and resp.status == 503)
            except Exception:
                bad += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - t0)
        return mine, bad
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(client, range(clients)))
    elapsed, s = time.monotonic() - started, sorted(t for mine, _ in done for t in mine)
    p = {q: s[min(len(s) - 1, int(q * len(s)))] * 1000 for q in (0.5, 0.95, 0.99)}
    return {"requests": len(s), "rps": len(s) / elapsed, "p50": p[0.5], "p95": p[0.95],
            "p99": p[0.99], "errors": sum(bad for _, bad in done)}


def main() -> None:
    args = common.options(__doc__, seconds=10.0, clients=20)
    with common.Stack(None, "bench", catcher=False) as stack:  # as before: no mail
        stack.flask("db", "upgrade")
        stack.flask("create-user", "bench@example.org", "--name", "Bench User", "--role",
                    "volunteer", "--password", "bench-password")
        stack.start()
        cookie = common.http_sign_in(stack.base_url, "bench@example.org", "bench-password")
        load_before = os.getloadavg()[0]
        rows, results = [], {}
        for path in ("/healthz", "/", "/healthz", "/"):  # alternate A/B blocks
            r = load(stack.web_port, path, cookie, args.clients, args.seconds / 2)
            results.setdefault(path, []).append(r)
            rows.append([path, r["requests"], f"{r['rps']:.0f}", f"{r['p50']:.1f}",
                         f"{r['p95']:.1f}", f"{r['p99']:.1f}", r["errors"]])
    common.header("foundation", load_before)
    print(f"# {args.clients} concurrent clients, {args.seconds:.0f} s per route, "
          "gunicorn gevent 1 worker, SQLite\n")
    common.table([("route", -10), ("requests", 9), ("req/s", 8), ("p50 ms", 8), ("p95 ms", 8),
                  ("p99 ms", 8), ("errors", 7)], rows)
    home, bare = (statistics.fmean(r["p50"] for r in results[p]) for p in ("/", "/healthz"))
    print(f"\nhome p50 / healthz p50 = {home / bare:.2f}\n")
    rows, total = [], [0, 0, 0]
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            sizes = [len(data), len(gzip.compress(data, 6)), len(brotli.compress(data, quality=4))]
            total = [a + b for a, b in zip(total, sizes, strict=True)]
            rows.append([str(path.relative_to(ROOT)), *sizes])
    common.table([("static asset", -48), ("raw B", 9), ("gzip B", 9), ("br B", 9)],
                 rows + [["total", *total]])


if __name__ == "__main__":
    main()
