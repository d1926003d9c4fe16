"""The admin "System" page: Redis, workers, job queue and mail outbox at a glance.

Shown to administrators only; none of it fails /healthz or /readyz (the app keeps
saving without Redis or a worker, and mail and live events catch up later)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import redis
from flask import current_app, render_template
from rq import Worker
from rq.registry import FailedJobRegistry
from rq.worker import BaseWorker
from sqlalchemy import func, select

from ..auth.guard import admin_required
from ..extensions import db
from ..jobs import get_queue
from ..mailer import OutboxMail
from ..timeutil import utcnow
from . import bp

# An idle RQ worker waits worker_ttl - 15 s (405 s by default) for a job between
# heartbeats; one not heard from for worker_ttl + GRACE is shown as down.
DEFAULT_WORKER_TTL = 420
HEARTBEAT_GRACE = timedelta(seconds=60)
BACKLOG_STATUSES = ("pending", "sending")


@dataclass
class SystemStatus:
    """What the System page shows; every part is filled in even when Redis is down."""

    database: str = "ok"
    redis: str = "ok"
    workers: list[dict] = field(default_factory=list)
    worker_state: str = "down"
    queued_jobs: int | None = None
    failed_jobs: int | None = None
    outbox_backlog: int = 0
    oldest_queued_mail: datetime | None = None
    failed_mail: int = 0


def _workers(conn: redis.Redis) -> list[BaseWorker]:
    """Every worker Redis knows: those in RQ's register, and those whose own key is there
    but not the register (a restarted Redis loses the register until the worker restarts,
    while the worker goes on writing its heartbeat; it is running, not down)."""
    found: dict[str, BaseWorker] = {w.key: w for w in Worker.all(connection=conn)}
    for key in conn.scan_iter(match=Worker.redis_worker_namespace_prefix + "*", count=100):
        key = key.decode() if isinstance(key, bytes) else key
        if key not in found and key.count(":") == 2 and conn.type(key) in (b"hash", "hash") \
                and not conn.hexists(key, "death"):
            # rq:worker:<name> (not its sub-keys), of a worker that has not shut down
            worker = Worker.find_by_key(key, connection=conn)
            if worker is not None:
                found[key] = worker
    return list(found.values())


def _redis_part(status: SystemStatus, now: datetime) -> None:
    conn = current_app.extensions["redis"]
    try:
        conn.ping()
        workers = _workers(conn)
        queue = get_queue()
        status.queued_jobs = queue.count
        status.failed_jobs = FailedJobRegistry(queue=queue).count
    except Exception as exc:  # Redis down: say so, never fail the page
        status.redis = f"down ({type(exc).__name__})"
        status.worker_state = "unknown: Redis is down"
        return
    for w in workers:
        beat = w.last_heartbeat
        if beat is not None and beat.tzinfo is not None:
            beat = beat.astimezone(timezone.utc).replace(tzinfo=None)
        ttl = timedelta(seconds=getattr(w, "worker_ttl", None) or DEFAULT_WORKER_TTL)
        fresh = beat is not None and now - beat <= ttl + HEARTBEAT_GRACE
        status.workers.append({"name": w.name, "pid": w.pid, "hostname": w.hostname,
                               "state": w.get_state(), "last_heartbeat": beat,
                               "alive": fresh})
    alive = sum(w["alive"] for w in status.workers)
    status.worker_state = f"up ({alive} running)" if alive else "down: no worker running"


def system_status() -> SystemStatus:
    """Database, Redis, workers' heartbeats, queue lengths and the mail outbox backlog."""
    status = SystemStatus()
    now = utcnow()
    try:
        status.outbox_backlog, status.oldest_queued_mail = db.session.execute(
            select(func.count(OutboxMail.id), func.min(OutboxMail.created_at))
            .where(OutboxMail.status.in_(BACKLOG_STATUSES))).one()
        status.failed_mail = db.session.scalar(
            select(func.count(OutboxMail.id)).where(OutboxMail.status == "failed")) or 0
    except Exception as exc:
        db.session.rollback()
        status.database = f"error ({type(exc).__name__})"
    _redis_part(status, now)
    return status


@bp.get("/system")
@admin_required
def system():
    """The System page."""
    return render_template("admin/system.html", s=system_status(), now=utcnow())
