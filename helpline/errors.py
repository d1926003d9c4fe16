"""One handler renders every HTTP error page."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

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
    if request.path.startswith("/healthz") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=TITLES.get(code, error.name), description=error.description), code
    return render_template("errors.html", code=code, title=TITLES.get(code, error.name),
                           description=error.description), code


def register_errors(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(HTTPException, _render)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        app.logger.exception("unhandled error")
        from .extensions import db
        db.session.rollback()
        return _render(InternalServerError(
            "The problem has been logged. Nothing you typed was saved; go back and try again."))
