"""Home and /healthz."""
from __future__ import annotations

from flask import current_app, jsonify
from rq import Worker
from sqlalchemy import text

from ..extensions import db
from . import bp


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # report, do not crash the probe
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _check_redis() -> tuple[str, str]:
    conn = current_app.extensions["redis"]
    try:
        conn.ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}", "unknown (Redis down)"
    try:
        workers = Worker.count(connection=conn)
    except Exception as exc:
        return "ok", f"error: {type(exc).__name__}"
    return "ok", ("ok" if workers else "error: no worker running")


@bp.get("/healthz")
def healthz():
    """Database, Redis and worker status; 200 only when all are up."""
    database = _check_database()
    redis_status, worker = _check_redis()
    status = {"database": database, "redis": redis_status, "worker": worker}
    healthy = all(v == "ok" for v in status.values())
    status["status"] = "ok" if healthy else "error"
    return jsonify(status), (200 if healthy else 503)



