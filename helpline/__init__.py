"""Helpline: a fast, simple intranet app for telephone support lines."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app, request
from govuk_frontend_wtf.gov_form_base import GovFormBase
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import enforce_mode, from_environment
from .extensions import compress, csrf, db, login_manager, mail, migrate
from .static_files import register_static_compression
from .timeutil import london_format

ROOT = Path(__file__).resolve().parent.parent


# Scripts and styles only from our own static files: no inline script, no eval (htmx's
# allowEval is off too), and no page may be framed.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
])


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings from the environment, then test overrides."""
    # The app factory imports the app's parts when it runs, not at the top of this module:
    # every part imports helpline.extensions and its models, so importing them while this
    # package is still being imported would be circular.
    from .badges import guard_context_processors
    from .cli import register_cli
    from .db_errors import register_db_errors
    from .errors import register_errors
    from .logs import register_request_logging
    from .metrics import register_metrics
    from .navigation import register_navigation
    from .timing import register_timing  # benchmarks: only when HELPLINE_TIMING_LOG is set
    app = Flask(__name__, instance_path=str(ROOT / "instance"),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    enforce_mode(app.config)  # training: mail only to the local catcher
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite") and (uri in ("sqlite://", "sqlite:///") or ":memory:" in uri):
        # an in-memory SQLite database has one connection and no pool to size
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "hide_parameters": True}
    register_request_logging(app)
    if app.config.get("TRUST_PROXY_HOPS"):
        hops = app.config["TRUST_PROXY_HOPS"]
        # Flask's documented way to add WSGI middleware; mypy reads it as patching a method
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_templates(app)
    register_blueprints(app)
    register_navigation(app)
    guard_context_processors(app)  # after every blueprint added its own
    register_errors(app)
    register_db_errors(app)
    register_cli(app)
    register_timing(app)  # benchmarks: only when HELPLINE_TIMING_LOG is set
    register_metrics(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL and a busy timeout so concurrent writers wait instead of failing."""
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def register_extensions(app: Flask) -> None:
    """Bind the extensions, Redis and the SSE broker to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    mail.init_app(app)
    compress.init_app(app)
    register_static_compression(app)  # after Flask-Compress, so it runs before it
    # redis-py caps a pool at 100 by default; SSE streams do not use it (one broker
    # per process), but web requests and jobs share it, so leave headroom.
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], max_connections=1000, socket_connect_timeout=2,
        socket_timeout=5)
    from .events import Broker  # the factory's parts: imported when it runs (see create_app)
    app.extensions["broker"] = Broker(app.config["REDIS_URL"])
    from . import models  # noqa: F401  (every model, for Alembic)
    from .auth import guard  # noqa: F401  (registers the user loader)


@lru_cache(maxsize=256)
def _file_hash(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def _render_widget(widget: GovFormBase, params: dict) -> Markup:
    """A GOV.UK form widget's template, rendered with its params alone.

    govuk-frontend-wtf renders each field through Flask's render_template, which runs
    every context processor again for each field of a page; the widget templates read
    nothing but `params`, so the same HTML comes from the template itself. The output is
    the autoescaping template's own (as the library marks render_template's), so it is
    marked safe as HTML: nothing typed reaches it unescaped."""
    html = current_app.jinja_env.get_template(widget.template).render(params=params)
    return Markup(html)  # nosec B704 - an autoescaped template's output, as the library does


def register_templates(app: Flask) -> None:
    """Our templates first, then the GOV.UK Frontend macros; filters and globals."""
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(ROOT / "templates")),
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    WTFormsHelpers(app)
    GovFormBase.render = _render_widget  # the GOV.UK widgets: see _render_widget
    app.jinja_env.filters["london"] = london_format

    @app.url_defaults
    def static_cache_buster(endpoint: str, values: dict) -> None:
        # A content hash in static URLs lets browsers cache them for a year.
        if endpoint == "static" and "filename" in values and app.static_folder:
            path = Path(app.static_folder) / values["filename"]
            if path.is_file():
                values["v"] = _file_hash(str(path), path.stat().st_mtime)

    @app.context_processor
    def site_texts() -> dict:
        # administrator-edited texts (cached per process; the defaults if unreadable)
        from . import site_settings
        return {"service_name": site_settings.service_name(),
                "site_setting": site_settings.get}

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def register_blueprints(app: Flask) -> None:
    """One blueprint per area."""
    # imported when the factory runs (see create_app): each imports its whole domain
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .callback_requests import bp as requests_bp
    from .callbacks import bp as callbacks_bp
    from .cases import bp as cases_bp
    from .contacts import bp as contacts_bp
    from .health import bp as main_bp
    from .interactions import bp as interactions_bp
    from .knowledge import bp as knowledge_bp
    from .notifications import bp as notifications_bp
    from .review import bp as review_bp
    from .supervisor import bp as supervisor_bp
    from .telephony import bp as telephony_bp
    from .training import bp as training_bp

    for bp in (main_bp, auth_bp, contacts_bp, cases_bp, callbacks_bp, interactions_bp, supervisor_bp,
               requests_bp, review_bp, knowledge_bp, notifications_bp, admin_bp, telephony_bp,
               training_bp):
        app.register_blueprint(bp)
