"""`python -m helpline.run` on free ports in a temporary instance folder, for tests."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis as redis_lib
from flask_migrate import upgrade

from helpline import create_app
from helpline.extensions import db
from tests.conftest import ROOT, free_port, wait_until


class RunProcess:
    """`python -m helpline.run` on free ports, with its own instance folder and log."""

    def __init__(self, tmp: Path, **extra_env: str) -> None:
        self.tmp = tmp
        self.port, self.redis_port, self.smtp_port = free_port(), free_port(), free_port()
        self.database_url = f"sqlite:///{tmp / 'helpline.db'}"
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_CATCHER_DIR",
                            "DATABASE_URL", "TEST_DATABASE_URL")}
        env.update(PORT=str(self.port), EMBEDDED_REDIS_PORT=str(self.redis_port),
                   EMBEDDED_SMTP_PORT=str(self.smtp_port), INSTANCE_DIR=str(tmp),
                   DATABASE_URL=self.database_url, MAIL_SWEEP_SECONDS="1",
                   MAIL_SWEEP_AFTER_SECONDS="1", PYTHONUNBUFFERED="1")
        env.update(extra_env)
        self.env = env
        self.log_path = tmp / "run.log"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "helpline.run"], cwd=ROOT, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        """Every pid the supervisor started for a child, oldest first."""
        return [int(p) for p in re.findall(rf"{re.escape(name)} started \(pid (\d+)\)", self.log)]

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive; only the supervisor could reap it
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def redis_pid(port: int) -> int | None:
    try:
        return redis_lib.Redis(port=port, socket_timeout=2).info()["process_id"]
    except redis_lib.RedisError:
        return None


def migrate_sqlite(tmp_path: Path) -> None:
    """A migrated SQLite database in tmp_path, as `make migrate` makes it."""
    url = f"sqlite:///{tmp_path / 'helpline.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


def start_run(tmp_path: Path, **extra_env: str):
    """Migrate, start `python -m helpline.run`, yield it once it serves; Ctrl-C at the end."""
    migrate_sqlite(tmp_path)
    proc = RunProcess(tmp_path, **extra_env)
    try:
        wait_until(lambda: proc.get("/healthz") == 200 or proc.proc.poll() is not None,
                   timeout=180, interval=0.2)
        assert proc.proc.poll() is None, proc.log
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def run(tmp_path):
    yield from start_run(tmp_path)
