"""Background jobs on RQ: the queue helper, enqueue-after-commit, and the job app context.

Jobs take ids, reload rows, are idempotent and have a timeout. They are enqueued
only after the database commit (session.info holds them until then). If Redis is
down at that moment the row that needs the work is still there, and the sweeper
in the worker (see worker.py) enqueues it later.
"""
from __future__ import annotations

import functools
import logging
import os
from typing import Any, Callable

import redis
from flask import Flask, current_app
from rq import Queue, Retry
from rq.types import FunctionReferenceType
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)
_PENDING = "helpline_pending_jobs"
_job_app: Flask | None = None
_parent_pid = os.getpid()
DEFAULT_TIMEOUT = 120
DEFAULT_RETRY = Retry(max=4, interval=[10, 30, 60, 120])


def set_job_app(app: Flask | None) -> None:
    """The worker (or a test) builds the app once and hands it to jobs here."""
    global _job_app, _parent_pid
    _job_app = app
    _parent_pid = os.getpid()


def job_app() -> Flask:
    """The app jobs run in; built once per worker process."""
    global _job_app
    if _job_app is None:
        from . import create_app  # the factory imports jobs: built lazily, in the worker
        _job_app = create_app()
    return _job_app


def task(fn: Callable) -> Callable:
    """Run a job function inside the worker's app context."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with job_app().app_context():
            if os.getpid() != _parent_pid:
                # RQ forked us: never reuse the parent's pooled database connections
                # (the worker's reminder thread may be using them right now).
                db.engine.dispose(close=False)
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


def get_queue(name: str = "default") -> Queue:
    """The RQ queue on the app's Redis connection."""
    return Queue(name, connection=current_app.extensions["redis"])


def enqueue(fn: FunctionReferenceType, *args: Any, job_id: str | None = None,
            timeout: int = DEFAULT_TIMEOUT, retry: Retry | None = DEFAULT_RETRY) -> Any:
    """Enqueue now (use enqueue_after_commit from request code)."""
    return get_queue().enqueue(fn, *args, job_id=job_id, job_timeout=timeout, retry=retry,
                               result_ttl=3600, failure_ttl=30 * 86400)


def enqueue_after_commit(fn: Callable | str, *args: Any, job_id: str | None = None,
                         timeout: int = DEFAULT_TIMEOUT,
                         retry: Retry | None = DEFAULT_RETRY) -> None:
    """Enqueue once the current transaction commits; dropped if it rolls back."""
    db.session.info.setdefault(_PENDING, []).append((fn, args, job_id, timeout, retry))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    for fn, args, job_id, timeout, retry in session.info.pop(_PENDING, []):
        try:
            enqueue(fn, *args, job_id=job_id, timeout=timeout, retry=retry)
        except redis.RedisError as exc:  # the sweeper will pick the row up
            log.warning("could not enqueue %s%s: %s", getattr(fn, "__name__", fn), args, exc)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
