"""The processes `make run` starts (helpline/run.py), on free ports, for the benchmarks."""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on {port}")


class Stack:
    """The processes `make run` starts, on free ports, in a temp dir."""

    def __init__(self, url: str, tmp: Path, web_workers: int) -> None:
        self.tmp, self.procs = tmp, []
        self.timing_log = tmp / "timing.log"
        self.redis_port, self.smtp_port, self.web_port = free_port(), free_port(), free_port()
        self.env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="loadtest-benchmark",
                        REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
                        MAIL_SERVER="127.0.0.1", MAIL_PORT=str(self.smtp_port),
                        MAIL_CATCHER_DIR=str(tmp / "mail"), EXPORT_DIR=str(tmp / "exports"),
                        HELPLINE_TIMING_LOG=str(self.timing_log))
        self.web_workers = web_workers

    def start(self) -> None:
        sys.path.insert(0, str(ROOT))
        from helpline.run import redis_server_binary
        py = sys.executable
        log = open(self.tmp / "stack.log", "ab")
        self._spawn("redis", [redis_server_binary(), "--port", str(self.redis_port), "--bind",
                              "127.0.0.1", "--dir", str(self.tmp), "--save", ""], log,
                    self.redis_port)
        self._spawn("catcher", [py, "-m", "helpline.catcher", "--port", str(self.smtp_port),
                                "--dir", str(self.tmp / "mail")], log, self.smtp_port)
        worker_env = {k: v for k, v in self.env.items() if k != "HELPLINE_TIMING_LOG"}
        self.procs.append(subprocess.Popen([py, "-m", "helpline.worker"], env=worker_env,
                                           cwd=ROOT, stdout=log, stderr=log,
                                           start_new_session=True))
        self._spawn("web", [py, "-m", "gunicorn", "-k", "gevent", "-w", str(self.web_workers),
                            "--worker-connections", "1000", "--no-control-socket",
                            "--timeout", "120", "-b", f"127.0.0.1:{self.web_port}", "app:app"],
                    log, self.web_port)

    def _spawn(self, name: str, args: list[str], log, port: int) -> None:
        proc = subprocess.Popen(args, env=self.env, cwd=ROOT, stdout=log, stderr=log,
                                start_new_session=True)
        self.procs.append(proc)
        wait_port(port, proc, name)

    def stop(self) -> None:
        for proc in reversed(self.procs):  # web and worker before Redis
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
