"""/healthz (liveness) and /readyz (database) never fail for Redis or the worker; the admin
System page shows them; the real worker process sends mail."""
import os
import re
import subprocess
import sys

from helpline.extensions import db
from helpline.mailer import OutboxMail, queue_mail
from helpline.catcher import read_messages
from tests.conftest import ROOT, wait_until
from tests.factories import make_user


def _worker_env(app):
    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=app.config["REDIS_URL"], MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(app.config["MAIL_PORT"]))
    return env


def _system(client) -> dict:
    html = client.get("/admin/system").get_data(as_text=True)
    return {k: re.search(rf'id="status-{k}">([^<]*)<', html).group(1)
            for k in ("database", "redis", "worker", "outbox")}


def test_healthz_and_readyz_are_200_without_a_worker_and_system_says_down(client, auth):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}
    auth.login(make_user("admin").email)
    assert _system(client) == {"database": "ok", "redis": "ok",
                               "worker": "down: no worker running", "outbox": "0"}


def test_healthz_and_readyz_are_200_when_redis_is_down(app, client, auth, redis_server):
    auth.login(make_user("admin").email)
    queue_mail("elliot.hunter@example.org", "Waiting", "Dear Elliot", key="health-wait")
    db.session.commit()
    redis_server.stop()
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        status = _system(client)
        assert status["redis"].startswith("down") and status["database"] == "ok"
        assert status["worker"] == "unknown: Redis is down" and status["outbox"] == "1"
    finally:
        redis_server.start()


def test_system_page_is_for_administrators_only(client, auth):
    auth.login(make_user("supervisor").email)
    assert client.get("/admin/system").status_code == 403


def test_system_page_shows_a_running_worker_then_down_when_stopped(app, client, auth, smtp):
    proc = subprocess.Popen([sys.executable, "-m", "helpline.worker"], cwd=ROOT,
                            env=_worker_env(app), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        auth.login(make_user("admin").email)
        wait_until(lambda: _system(client)["worker"] == "up (1 running)", timeout=60,
                   interval=0.2, message="worker never registered")
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
        proc.terminate()
        proc.wait(30)
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert _system(client)["worker"] == "down: no worker running"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)


def test_an_idle_worker_between_heartbeats_is_up_and_a_silent_one_down(app, client, auth):
    """An idle RQ worker heartbeats only every worker_ttl - 15 s (405 s by default)."""
    from datetime import timedelta

    from rq import SimpleWorker
    from rq.utils import now, utcformat

    from helpline.jobs import get_queue
    conn = app.extensions["redis"]
    worker = SimpleWorker([get_queue()], connection=conn, name="idle-worker")
    worker.register_birth()
    auth.login(make_user("admin").email)
    try:
        conn.hset(worker.key, "last_heartbeat", utcformat(now() - timedelta(seconds=400)))
        assert _system(client)["worker"] == "up (1 running)"
        conn.hset(worker.key, "last_heartbeat", utcformat(now() - timedelta(seconds=600)))
        assert _system(client)["worker"] == "down: no worker running"
    finally:
        worker.register_death()


def test_a_worker_redis_forgot_to_list_is_still_up(app, client, auth):
    """Walk finding: after Redis restarted, RQ's register of workers was empty while the
    running worker kept writing its heartbeat; System and /metrics said it was down."""
    from rq import SimpleWorker
    from rq.utils import now, utcformat

    from helpline.jobs import get_queue
    conn = app.extensions["redis"]
    worker = SimpleWorker([get_queue()], connection=conn, name="after-restart")
    worker.register_birth()
    auth.login(make_user("admin").email)
    try:
        conn.srem("rq:workers", worker.key)  # what a Redis restart leaves behind
        for key in list(conn.keys("rq:workers:*")):
            conn.srem(key, worker.key)
        conn.hset(worker.key, "last_heartbeat", utcformat(now()))
        assert _system(client)["worker"] == "up (1 running)"
    finally:
        worker.register_death()
