"""A busy or restarting database gives a clear 503 page; nothing is ever half-saved.

SQLite answers "database is locked" when another writer holds the lock for longer than
the busy timeout; PostgreSQL drops its connections while it restarts. Both reach us as
sqlalchemy.exc.OperationalError. The request's one transaction is rolled back whole, and
the user gets a page that says nothing was saved, with what they typed kept in a form
that posts it again ("Save again"). Create forms carry a once-only token, so a second
press never makes a second record.
"""
from __future__ import annotations

from flask import Flask, current_app, g, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import InternalServerError

from . import site_settings
from .extensions import db

TITLE = "The database is busy"
SAVE_MESSAGE = "The database is busy — nothing was saved; please press Save again."
READ_MESSAGE = "The database is busy — please try again in a moment."
RETRY_AFTER_SECONDS = 5
_NEVER_ECHOED = ("password",)  # a sign-in form's password is never written into a page
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
# PostgreSQL: connection exceptions, shutting down / starting up, too many connections.
_PG_TRANSIENT = ("08", "57P01", "57P02", "57P03", "53300")


def is_transient(exc: OperationalError) -> bool:
    """Whether the database is busy or away for a moment (not, say, a missing table)."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if any(text in str(orig).lower() for text in _SQLITE_BUSY):
        return True
    if type(orig).__module__.startswith("psycopg"):
        sqlstate = getattr(orig, "sqlstate", None)
        # no SQLSTATE: the connection failed or was lost before the server answered
        return sqlstate is None or sqlstate.startswith(_PG_TRANSIENT)
    return False


def _kept_fields() -> list[tuple[str, str]]:
    """The posted fields to send again, once CSRF protection has accepted the request."""
    if request.method != "POST" or not g.get("csrf_valid"):
        return []
    return [(name, value) for name, values in request.form.lists() for value in values
            if not any(word in name.lower() for word in _NEVER_ECHOED)]


def database_busy(exc: OperationalError):
    """Roll back, log, and answer 503 with the user's input kept."""
    try:
        db.session.rollback()
    except OperationalError:  # the connection is gone already; the pool replaces it
        db.session().invalidate()
    if not is_transient(exc):  # a real fault: the usual logged 500 page
        current_app.logger.error("database error", exc_info=exc)
        return current_app.handle_http_exception(InternalServerError(
            "The problem has been logged. Nothing you typed was saved; go back and try again."))
    current_app.logger.warning("database busy or unavailable: %s", exc.orig or exc)
    saving = request.method == "POST"
    message = SAVE_MESSAGE if saving else READ_MESSAGE
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if (request.path in ("/healthz", "/readyz")
            or request.accept_mimetypes.best == "application/json"):
        return jsonify(error=TITLE, description=message), 503, headers
    # Rendered straight from the Jinja environment: the app's context processors and
    # base layout query the database, which is exactly what is not answering.
    html = current_app.jinja_env.get_template("errors/busy.html").render(
        title=TITLE, message=message, saving=saving, fields=_kept_fields(),
        request_id=g.get("request_id"), service_name=site_settings.peek("service_name"),
        action=request.full_path if request.query_string else request.path)
    return html, 503, headers


def _close_session(_exc: BaseException | None) -> None:
    """End the request's session even when its connection died under it.

    Runs before Flask-SQLAlchemy's own teardown (teardowns run last-registered first).
    Its rollback on a connection PostgreSQL has just cut raises, and an error in a
    teardown turns a page already rendered into a bare 500; invalidate it instead.
    """
    try:
        db.session.remove()
    except OperationalError as exc:
        current_app.logger.warning("database connection lost at the end of a request: %s",
                                   exc.orig or exc)
        db.session().invalidate()
        db.session.remove()


def register_db_errors(app: Flask) -> None:
    """Register the busy-database handler (more specific than the catch-all 500)."""
    app.register_error_handler(OperationalError, database_busy)
    app.teardown_appcontext(_close_session)
