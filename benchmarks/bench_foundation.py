"""Foundation benchmark: home page and /healthz under load, and static asset sizes.

    make bench            # or: .venv/bin/python benchmarks/bench_foundation.py --seconds 10

Starts its own embedded Redis, a worker and gunicorn (gevent, as `make run` does) on
free ports with a throwaway SQLite database, signs a user in, then drives N
concurrent keep-alive clients for a fixed time per route. Latencies are measured at
the client on loopback (so they include the client's own overhead on this 2-core
machine); the ratio to /healthz in the same run is the figure to compare.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpline.run import redis_server_binary  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


def sign_in(port: int, email: str, password: str) -> str:
    """Return a Cookie header for a signed-in session."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    html = resp.read().decode()
    cookie = resp.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
    conn.request("POST", "/login", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302, resp.status
    return resp.getheader("Set-Cookie").split(";")[0]


def load(port: int, path: str, cookie: str, clients: int, seconds: float) -> dict:
    """Drive `clients` keep-alive connections at path for `seconds`."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker():
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie,
                                                   "Accept-Encoding": "gzip, br"})
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400 and not (path == "/healthz" and resp.status == 503):
                    bad += 1
            except Exception:
                bad += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": pct(0.50),
            "p95": pct(0.95), "p99": pct(0.99), "mean": statistics.fmean(latencies) * 1000,
            "errors": errors}


def static_sizes() -> list[tuple[str, int, int, int]]:
    rows = []
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            rows.append((str(path.relative_to(ROOT)), len(data), len(gzip.compress(data, 6)),
                         len(brotli.compress(data, quality=4))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="helpline-bench-"))
    redis_port, web_port = free_port(), free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
               REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", SECRET_KEY="bench",
               MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()))
    py = sys.executable
    procs = []
    try:
        procs.append(subprocess.Popen([redis_server_binary(), "--port", str(redis_port),
                                       "--bind", "127.0.0.1", "--dir", str(tmp), "--save", ""],
                                      stdout=subprocess.DEVNULL))
        wait_port(redis_port)
        flask = [py, "-m", "flask", "--app", "app"]
        subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        subprocess.run(flask + ["create-user", "bench@example.org", "--name", "Bench User",
                                "--role", "volunteer", "--password", "bench-password"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
        procs.append(subprocess.Popen([py, "-m", "helpline.worker"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            [py, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--worker-connections", "1000",
             "--no-control-socket", "-b", f"127.0.0.1:{web_port}", "app:app"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(web_port)
        cookie = sign_in(web_port, "bench@example.org", "bench-password")
        print(f"# Helpline foundation benchmark — {platform.node()}, {platform.platform()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"# {args.clients} concurrent clients, {args.seconds:.0f} s per route, "
              "gunicorn gevent 1 worker, SQLite\n")
        print(f"{'route':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'errors':>7}")
        results = {}
        for path in ("/healthz", "/", "/healthz", "/"):  # alternate A/B blocks
            r = load(web_port, path, cookie, args.clients, args.seconds / 2)
            results.setdefault(path, []).append(r)
            print(f"{path:<10} {r['requests']:>9} {r['rps']:>8.0f} {r['p50']:>8.1f} "
                  f"{r['p95']:>8.1f} {r['p99']:>8.1f} {r['errors']:>7}")
        home = statistics.fmean(r["p50"] for r in results["/"])
        bare = statistics.fmean(r["p50"] for r in results["/healthz"])
        print(f"\nhome p50 / healthz p50 = {home / bare:.2f}")
        print(f"\n{'static asset':<48} {'raw B':>9} {'gzip B':>9} {'br B':>9}")
        total = [0, 0, 0]
        for name, raw, gz, br in static_sizes():
            total = [total[0] + raw, total[1] + gz, total[2] + br]
            print(f"{name:<48} {raw:>9} {gz:>9} {br:>9}")
        print(f"{'total':<48} {total[0]:>9} {total[1]:>9} {total[2]:>9}")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(10)


if __name__ == "__main__":
    main()
