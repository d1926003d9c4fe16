"""Logging: timestamps on every line, one line per request, a request id, JSON on demand.

Each request is logged once, when its response is ready, with: the request id (taken
from a proxy's `X-Request-Id` when it looks like one, else made here; sent back in the
`X-Request-Id` header and shown on error pages), the signed-in user's id, method, endpoint,
path, status and time. Never the query string (searches carry names, phone numbers and
postcodes), never form values, never a name or an email address. `LOG_FORMAT=json`
writes every line as one JSON object.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect

REQUEST_LOG = logging.getLogger("helpline.request")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_MARK = "_helpline_handler"


class RequestIdFilter(logging.Filter):
    """Adds the current request's id (or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = (g.get("request_id", "-") if has_request_context() else "-")
        return True


class TextFormatter(logging.Formatter):
    """`2026-11-29T15:30:01.123Z INFO helpline.request [id] key=value ...`, in UTC."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord,  # noqa: N802 - logging's name
                   datefmt: str | None = None) -> str:
        return _utc(record.created)

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if fields:
            record.msg = " ".join(f"{k}={v}" for k, v in fields.items())
            record.args = None
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message and fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": _utc(record.created), "level": record.levelname, "logger": record.name,
               "request_id": getattr(record, "request_id", "-")}
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _utc(created: float) -> str:
    stamp = datetime.fromtimestamp(created, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged (a test runner swaps it, and a
    handler holding the old one would write to a closed file)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _NoDevServerRequestLines(logging.Filter):
    """Werkzeug's development server logs each request line with its query string: our
    own request line replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith('"%s" %s %s'))


def configure_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """One handler on the root logger, to stderr, with timestamps (set up once)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = _StderrHandler()
        setattr(handler, _MARK, True)
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoDevServerRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(_NoDevServerRequestLines())


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Control characters (a CR or LF in a URL would start a forged log line) as %XX."""
    return _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", text)


def _user_id() -> int | str:
    """The signed-in user's id, read from the identity map: never a query.

    Flask-Login keeps the user it loaded in g. After a rollback (a badge whose database
    went away) its attributes are expired, and reading ``user.id`` would reload it from a
    database that may not be answering: an error in after_request is a bare 500.
    """
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    identity = state.identity if state is not None else None
    return identity[0] if identity else "-"


# Routes whose path is a credential: the phone system's token, a parked form's one-use
# restore token, a local team's signed confirmation link. Their rule is logged instead.
SECRET_ENDPOINTS = {"telephony.event", "auth.restore", "review.referral_confirm"}
# Where the app leaves the path it logged, for the server's access log (gunicorn.conf.py)
LOGGED_PATH_KEY = "helpline.logged_path"


def _logged_path() -> str:
    """The path only when it matched a route (ids, never a query string; an unknown path
    can hold anything someone typed); a route with a secret in it logs its rule instead."""
    if request.url_rule is None:
        return "-"
    if request.endpoint in SECRET_ENDPOINTS:
        return printable(request.url_rule.rule)
    return printable(request.path)


def register_request_logging(app: Flask) -> None:
    """Request ids and the one log line per request."""
    configure_logging(app.config.get("LOG_FORMAT", "text"))

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(resp):
        rid = g.get("request_id")
        if rid is None:  # failed before before_request ran
            rid = g.request_id = uuid.uuid4().hex
        resp.headers["X-Request-Id"] = rid
        started = g.get("request_started")
        REQUEST_LOG.info("request", extra={"fields": {
            "request_id": rid, "user_id": _user_id(), "method": request.method,
            "endpoint": request.endpoint or "-",
            # the path only when it matched a route (ids, never a query string); an
            # unknown path can hold anything someone typed
            "path": request.environ.setdefault(LOGGED_PATH_KEY, _logged_path()),
            "status": resp.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else "-",
        }})
        return resp
