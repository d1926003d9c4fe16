"""One handler renders every HTTP error page."""
from __future__ import annotations

from flask import Flask, Request, g, jsonify, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from .extensions import db, login_manager

TITLES = {
    400: "Something was wrong with that request",
    401: "Sign in to continue",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    422: "Something was wrong with that request",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
}


def _render(error: HTTPException):
    code = error.code or 500
    if (request.path in ("/healthz", "/readyz")
            or request.accept_mimetypes.best == "application/json"):
        return jsonify(error=TITLES.get(code, error.name), description=error.description,
                       request_id=g.get("request_id")), code
    return render_template("errors.html", code=code, title=TITLES.get(code, error.name),
                           description=error.description, request_id=g.get("request_id")), code


def _value_not_storable(exc: DataError):
    """A value the database refuses (a number out of range, text longer than its column):
    nothing is saved, and the user is told what kind of value it was, not shown a 500."""
    db.session.rollback()
    import logging
    # the class only: a driver's message can quote the value, which may be personal data
    logging.getLogger(__name__).warning("value refused by the database: %s",
                                        type(exc.orig or exc).__name__)
    return _render(BadRequest("Something you entered cannot be stored: a number that is too "
                              "large, or a text that is too long. Nothing was saved; go back, "
                              "correct it and try again."))


class CleanRequest(Request):
    """Form and query values without NUL characters: no one types them, PostgreSQL refuses
    them in text columns, and a crafted one must not become a 500."""

    class parameter_storage_class(ImmutableMultiDict):  # noqa: N801 - Werkzeug's name
        def __init__(self, mapping=None):
            if isinstance(mapping, (list, tuple)):
                mapping = [(k.replace("\x00", ""), v.replace("\x00", "") if isinstance(v, str)
                            else v) for k, v in mapping]
            super().__init__(mapping)


def register_errors(app: Flask) -> None:
    """Register the error handlers."""
    app.request_class = CleanRequest
    app.register_error_handler(HTTPException, _render)
    app.register_error_handler(DataError, _value_not_storable)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        if "_login_user" not in g:  # the user could not be loaded (a database not answering):
            g._login_user = login_manager.anonymous_user()  # the page must not try again
        return _render(InternalServerError(
            "The problem has been logged. Nothing you typed was saved; go back and try again."))
