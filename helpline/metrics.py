"""`/metrics` in Prometheus format, for administrators or a scraper holding METRICS_TOKEN.

Per web process (scrape each process, like its /healthz): requests and latency by endpoint,
open event streams. Read from the database and Redis at scrape time (the same figures from
whichever process answers): mail waiting and the age of the oldest, jobs queued and failed,
workers alive, call-back reminders by state, sign-in failures in the last 15 minutes.
Labels are endpoint names and states, never paths or people.
"""
from __future__ import annotations

import hmac
import time
from datetime import timedelta
from functools import wraps
from typing import Any, Callable, Iterator, Protocol, cast

from flask import Flask, Response, abort, current_app, g, request
from flask_login import current_user
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from .admin.system import system_status
from .auth.models import LoginAttempt
from .callbacks.models import CallBack
from .extensions import db
from .timeutil import utcnow

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("helpline_requests", "HTTP requests by endpoint and status",
                   ["endpoint", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("helpline_request_seconds", "Time to the response, by endpoint",
                    ["endpoint"], registry=REGISTRY,
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class _ScrapeTime:
    """Figures read at each scrape from the app bound by register_metrics."""

    app: Flask | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        app = self.app
        if app is None:
            return
        broker = app.extensions.get("broker")
        yield _gauge("helpline_event_streams_open", "Event streams open in this process",
                     broker.subscriber_count() if broker else 0)
        with app.app_context():
            try:
                yield from _status_gauges()
                yield from _database_gauges()
            finally:
                db.session.remove()


def _gauge(name: str, doc: str, value: float | None, labels: dict | None = None):
    fam = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    if value is not None:
        fam.add_metric(list((labels or {}).values()), value)
    return fam


def _status_gauges() -> Iterator[GaugeMetricFamily]:
    s = system_status()
    oldest = s.oldest_queued_mail
    yield _gauge("helpline_outbox_backlog", "Mails waiting to be sent", s.outbox_backlog)
    yield _gauge("helpline_outbox_oldest_seconds", "Age of the oldest mail waiting",
                 (utcnow() - oldest).total_seconds() if oldest else 0)
    yield _gauge("helpline_outbox_failed", "Mails that could not be sent", s.failed_mail)
    yield _gauge("helpline_redis_up", "1 when Redis answers", int(s.redis == "ok"))
    yield _gauge("helpline_workers_alive", "Workers with a recent heartbeat",
                 sum(w["alive"] for w in s.workers))
    yield _gauge("helpline_jobs_queued", "Jobs waiting in the queue", s.queued_jobs)
    yield _gauge("helpline_jobs_failed", "Jobs in the failed registry", s.failed_jobs)


def _database_gauges() -> Iterator[GaugeMetricFamily]:
    fam = GaugeMetricFamily("helpline_callback_reminders", "Open call-back reminders by state",
                            labels=["state"])
    for state, n in db.session.execute(select(CallBack.reminder_state, func.count())
                                       .where(CallBack.closed_at.is_(None))
                                       .group_by(CallBack.reminder_state)):
        fam.add_metric([state], n)
    yield fam
    since = utcnow() - timedelta(minutes=15)
    yield _gauge("helpline_sign_in_failures_15m", "Failed sign-ins in the last 15 minutes",
                 db.session.scalar(select(func.count(LoginAttempt.id)).where(
                     LoginAttempt.success.is_(False), LoginAttempt.at >= since)))


_SCRAPE = _ScrapeTime()
REGISTRY.register(_SCRAPE)


class _GuardedView(Protocol):
    """A view function that names the roles it lets in."""

    allowed_roles: tuple[str, ...]

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


def metrics_access(view: Callable) -> Callable:
    """Administrators (signed in) or `Authorization: Bearer $METRICS_TOKEN`."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = current_app.config.get("METRICS_TOKEN")
        sent = request.headers.get("Authorization", "")
        if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return view(*args, **kwargs)
        if not current_user.is_authenticated:
            abort(401)
        if not current_user.has_role("admin"):
            abort(403)
        return view(*args, **kwargs)

    guarded = cast(_GuardedView, wrapped)  # a function takes attributes; mypy cannot see it
    guarded.allowed_roles = ("admin",)  # read by the route × role security matrix
    return guarded


@metrics_access
def metrics() -> Response:
    """The Prometheus text format."""
    db.session.remove()  # the scrape opens its own short session
    return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def register_metrics(app: Flask) -> None:
    """Count every request; serve /metrics."""
    _SCRAPE.app = app
    app.add_url_rule("/metrics", "metrics", metrics)

    @app.after_request
    def count(resp):
        endpoint = request.endpoint or "none"
        # an unknown method is "other": a client must not be able to add label values
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(endpoint, method, str(resp.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return resp
