"""Helpers for the fault tests: a real worker process we can kill, and mail counting."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from helpline.catcher import read_messages
from tests.conftest import ROOT
from tests.core.test_health_and_worker import _worker_env


class WorkerProcess:
    """`python -m helpline.worker` in its own process group (RQ forks a scheduler child).

    extra_env overrides settings, e.g. MAIL_PORT or the short sweep intervals a test
    needs; the log goes to a file the test prints when it fails.
    """

    def __init__(self, app, log: Path, **extra_env: object) -> None:
        env = _worker_env(app)
        env.update({k: str(v) for k, v in extra_env.items()})
        self.log_path = log
        self._log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "helpline.worker"], cwd=ROOT,
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def kill(self) -> None:
        """kill -9 the worker and its scheduler child, as a crashed host would."""
        self._signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """A normal shutdown (SIGTERM to the group), killed if it does not finish."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        else:  # the worker is gone; its scheduler child may not be
            self._signal(signal.SIGKILL)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # the group we created for this worker only
        except ProcessLookupError:
            pass


def mails(smtp: dict, to: str | None = None, subject: str | None = None) -> list[dict]:
    """Messages in the catcher, optionally only those to an address / with a subject."""
    return [m for m in read_messages(smtp["dir"])
            if (to is None or m["to"] == to) and (subject is None or m["subject"] == subject)]
