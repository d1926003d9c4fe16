"""The RQ worker entry point: builds the app once, sweeps lost work, runs jobs.

    python -m helpline.worker          # what `make run` starts
"""
from __future__ import annotations

import logging
import threading

from rq import Worker

from . import create_app
from .jobs import get_queue, set_job_app

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0


def sweep_forever(app, stop: threading.Event) -> None:
    """Re-enqueue work whose job was lost (Redis down at commit, worker killed)."""
    from . import mailer
    from .extensions import db
    while not stop.wait(SWEEP_SECONDS):
        with app.app_context():
            try:
                n = mailer.sweep()
                if n:
                    log.info("sweeper re-enqueued %s mail(s)", n)
            except Exception as exc:  # Redis or database away: try next round
                log.warning("sweep failed: %s", exc)
            finally:
                db.session.remove()


def main() -> None:
    """Run one worker with the scheduler (needed for retries and enqueue_in)."""
    app = create_app()
    set_job_app(app)  # forked job processes inherit the built app
    stop = threading.Event()
    threading.Thread(target=sweep_forever, args=(app, stop), daemon=True).start()
    with app.app_context():
        queue = get_queue()
        worker = Worker([queue], connection=app.extensions["redis"])
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
