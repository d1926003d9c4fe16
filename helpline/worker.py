"""The RQ worker entry point: builds the app once, sweeps lost work, runs jobs.

    python -m helpline.worker          # what `make run` starts
"""
from __future__ import annotations

import logging
import threading

import redis
from rq import SimpleWorker

from . import create_app, mailer
from .callbacks import tasks as callback_tasks
from .extensions import db
from .jobs import get_queue, set_job_app
from .review import tasks as review_tasks

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0  # default; MAIL_SWEEP_SECONDS overrides it


def sweep_forever(app, stop: threading.Event) -> None:
    """Re-enqueue work whose job was lost (Redis down at commit, worker killed)."""
    every = float(app.config.get("MAIL_SWEEP_SECONDS") or SWEEP_SECONDS)
    _loop(app, stop, every, mailer.sweep, "re-enqueued mail")


def remind_forever(app, stop: threading.Event) -> None:
    """Push due call-back reminders and escalate overdue ones. Every worker runs this; a
    conditional UPDATE in the database makes each reminder go out once."""

    def tick() -> int:
        return callback_tasks.reminders(app.config["BASE_URL"])
    _loop(app, stop, app.config["REMINDER_POLL_SECONDS"], tick, "reminders/escalations")


def retention_daily(app, stop: threading.Event) -> None:
    """Erase contacts and unlinked call-back requests inactive for RETENTION_YEARS: at
    worker start and then once a day. Every worker checks hourly; a per-day key in Redis
    (SET NX EX) lets exactly one of them run it. Never on the training site."""
    if app.config.get("TRAINING"):
        log.info("retention: disabled on the training site")
        return

    def run_once() -> int:
        return review_tasks.retention_once_today(app.extensions["redis"],
                                                 app.config["RETENTION_YEARS"])
    every = float(app.config.get("RETENTION_CHECK_SECONDS") or 3600)
    _loop(app, stop, every, run_once, "retention: records erased", at_start=True)


def exports_housekeeping(app, stop: threading.Event) -> None:
    """Mark exports whose job was lost as failed; delete files past their 30 days."""
    every = float(app.config.get("EXPORT_SWEEP_SECONDS") or 60)
    _loop(app, stop, every, review_tasks.exports_housekeeping, "exports failed/expired", at_start=True)


def _loop(app, stop: threading.Event, every: float, work, what: str,
          at_start: bool = False) -> None:
    if not at_start and stop.wait(every):
        return
    while True:
        with app.app_context():
            try:
                n = work()
                if n:
                    log.info("%s: %s", what, n)
            except Exception as exc:  # Redis or database away: try next round
                db.session.rollback()
                log.warning("%s failed: %s", what, exc)
            finally:
                db.session.remove()
        if stop.wait(every):
            return


def make_worker(app) -> SimpleWorker:
    """The RQ worker, on a Redis connection of its own.

    The app's shared client has a 5-second socket timeout (right for web requests), and
    the sweeper and reminder threads have already put connections with that timeout in its
    pool. RQ raises the pool's timeout for new connections only, so its long blocking wait
    for a job could get one of those, time out after 5 s and back off for up to a minute
    while Redis is fine (walk finding on issue 18)."""
    with app.app_context():
        queue = get_queue()
        own = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2)
        # SimpleWorker runs jobs in this process: forking a process that also runs the
        # sweeper/reminder threads could copy a lock one of them holds into the child and
        # hang the job. Our jobs are short and idempotent, and not forking per job is faster.
        return SimpleWorker([queue], connection=own)


def main() -> None:
    """Run one worker with the scheduler (needed for retries and enqueue_in)."""
    app = create_app()
    set_job_app(app)  # forked job processes inherit the built app
    stop = threading.Event()
    threading.Thread(target=sweep_forever, args=(app, stop), daemon=True).start()
    threading.Thread(target=remind_forever, args=(app, stop), daemon=True).start()
    threading.Thread(target=retention_daily, args=(app, stop), daemon=True).start()
    threading.Thread(target=exports_housekeeping, args=(app, stop), daemon=True).start()
    worker = make_worker(app)
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
