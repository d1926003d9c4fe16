"""/healthz reports database, Redis and worker; the real worker process sends mail."""
import os
import subprocess
import sys

from helpline.extensions import db
from helpline.mailer import OutboxMail, queue_mail
from helpline.catcher import read_messages
from tests.conftest import ROOT, wait_until


def _worker_env(app):
    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=app.config["REDIS_URL"], MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(app.config["MAIL_PORT"]))
    return env


def test_healthz_is_503_without_a_worker(client):
    resp = client.get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["worker"] == "error: no worker running"


def test_healthz_is_503_when_redis_is_down(app, client, redis_server):
    redis_server.stop()
    try:
        resp = client.get("/healthz")
        assert resp.status_code == 503
        assert resp.get_json()["redis"].startswith("error")
        assert resp.get_json()["database"] == "ok"
    finally:
        redis_server.start()


def test_worker_process_makes_healthz_200_and_delivers_mail(app, client, smtp):
    proc = subprocess.Popen([sys.executable, "-m", "helpline.worker"], cwd=ROOT,
                            env=_worker_env(app), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30,
                   message="worker never registered")
        assert client.get("/healthz").get_json() == {
            "database": "ok", "redis": "ok", "worker": "ok", "status": "ok"}
        row = queue_mail("elliot.hunter@example.org", "You have been assigned",
                         "Dear Elliot Hunter", key="health-test-1")
        db.session.commit()

        def delivered():
            return [m for m in read_messages(smtp["dir"]) if m["subject"] == "You have been assigned"]
        msgs = wait_until(delivered, timeout=30, message="mail never reached the catcher")
        assert msgs[0]["to"] == "elliot.hunter@example.org"

        def status():  # the worker marks it sent just after the catcher has it
            db.session.expire_all()
            return db.session.get(OutboxMail, row.id).status == "sent"
        wait_until(status, timeout=10, message="the outbox row was never marked sent")
    finally:
        proc.terminate()
        proc.wait(20)
