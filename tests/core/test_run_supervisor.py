"""`make run` (python -m helpline.run) keeps the site up when one of its parts dies."""
from __future__ import annotations

import os
import signal
import socket
import threading

from helpline import create_app
from helpline.catcher import read_messages
from helpline.extensions import db
from helpline.mailer import queue_mail
from tests.conftest import wait_until
from tests.core.runstack import alive, redis_pid, run  # noqa: F401 (fixture)


def test_killed_redis_is_restarted_while_the_site_keeps_serving(run, tmp_path):
    web_pid = run.pids("web")[0]
    first = wait_until(lambda: redis_pid(run.redis_port), timeout=30)
    assert run.pids("redis-server") == [first]

    # Hold Redis's port (every connection closed at once) so the restarted redis-server
    # cannot bind and keeps failing until we let go: a deterministic outage. The supervisor
    # is paused meanwhile so that it cannot restart Redis before we hold the port.
    os.kill(run.proc.pid, signal.SIGSTOP)
    try:
        os.kill(first, signal.SIGKILL)
        blocker = wait_until(lambda: PortHolder.bind(run.redis_port), timeout=10, interval=0.01)
    finally:
        os.kill(run.proc.pid, signal.SIGCONT)
    wait_until(lambda: f"redis-server (pid {first}) exited" in run.log, timeout=30,
               interval=0.05, message=run.log)
    try:
        wait_until(lambda: len(run.pids("redis-server")) >= 3, timeout=60, interval=0.1,
                   message=run.log)  # restarted, failed to bind, restarted again: back-off
        assert redis_pid(run.redis_port) is None
        assert run.get("/healthz") == 200
        assert run.get("/readyz") == 200
        assert run.get("/login") == 200
        # a change saved meanwhile: its mail is in the outbox, its job could not be queued
        app = create_app({"SQLALCHEMY_DATABASE_URI": run.database_url,
                          "REDIS_URL": f"redis://127.0.0.1:{run.redis_port}/0"})
        with app.app_context():
            queue_mail("elliot.hunter@example.org", "Assigned while Redis was down",
                       "Dear Elliot Hunter", key="run-test-1")
            db.session.commit()
            db.engine.dispose()
    finally:
        blocker.close()

    new_pid = wait_until(lambda: redis_pid(run.redis_port), timeout=60, interval=0.1,
                         message=run.log)
    assert new_pid != first and new_pid == run.pids("redis-server")[-1]
    assert "restarting in 0.5 s" in run.log and "restarting in 1.0 s" in run.log

    def delivered():
        return [m for m in read_messages(tmp_path / "mail")
                if m["subject"] == "Assigned while Redis was down"]
    wait_until(delivered, timeout=90, interval=0.2, message=run.log)
    assert run.get("/healthz") == 200
    assert run.pids("web") == [web_pid] and alive(web_pid), run.log
    assert len(delivered()) == 1


def test_killed_worker_and_catcher_come_back_and_ctrl_c_stops_everything(run):
    worker, catcher = run.pids("worker")[0], run.pids("mail catcher")[0]
    os.killpg(worker, signal.SIGKILL)
    os.kill(catcher, signal.SIGTERM)
    wait_until(lambda: len(run.pids("worker")) == 2 and len(run.pids("mail catcher")) == 2,
               timeout=60, interval=0.1, message=run.log)
    assert run.get("/healthz") == 200
    wait_until(lambda: _port_open(run.smtp_port), timeout=60, interval=0.1, message=run.log)
    everyone = [p for name in ("web", "worker", "mail catcher", "redis-server")
                for p in run.pids(name)]
    run.stop()
    assert run.proc.returncode == 0, run.log
    assert not [p for p in everyone if alive(p)]
    assert run.get("/healthz") == 0


class PortHolder:
    """Listens on a port and closes every connection at once (a Redis that is not there)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @classmethod
    def bind(cls, port: int) -> "PortHolder | None":
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            return None
        sock.listen(16)
        return cls(sock)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
