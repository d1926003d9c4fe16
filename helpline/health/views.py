"""/healthz (liveness) and /readyz (readiness) for load balancers and service managers."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import text

from ..extensions import db
from . import bp


@bp.get("/healthz")
def healthz():
    """Liveness: this process can serve requests. Touches neither the database nor Redis,
    so a load balancer never pulls every node because Redis or the worker is down (saves
    go on without them; mail and live events catch up)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers. Redis and the worker are shown on the admin
    System page instead, never failing this check."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # report, do not crash the probe
        db.session.rollback()
        return jsonify(status="error", database=f"error: {type(exc).__name__}"), 503
    return jsonify(status="ok", database="ok")
