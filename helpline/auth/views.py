"""Sign in and sign out."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..extensions import db
from . import bp, services
from .forms import EmptyForm, LoginForm
from .guard import signed_in
from .models import UserSession


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _safe_next(target: str | None) -> str:
    """Only follow local redirect targets."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("contacts.index")


def _limits() -> services.ThrottleSettings:
    cfg = current_app.config
    return services.ThrottleSettings(
        per_account=cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        per_address=cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        window=timedelta(minutes=cfg["LOGIN_THROTTLE_MINUTES"]),
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("contacts.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data,
                                         _client_ip(), _limits())
        except services.SignInError as exc:
            db.session.commit()  # keep the failed attempt for throttling
            form.password.errors.append(str(exc))
        else:
            sess = services.start_session(user, _client_ip(), request.user_agent.string)
            db.session.commit()
            session.clear()  # a new session at sign-in: nothing carried over
            session["sid"] = sess.id
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@bp.post("/logout")
@signed_in
def logout():
    """Sign out: ends the server-side session too."""
    form = EmptyForm()
    if form.validate_on_submit():
        sess = db.session.get(UserSession, session.get("sid"))
        if sess is not None:
            services.end_session(sess, "signed out")
            audit.record(current_user, "sign-out", "user", current_user.id)
            db.session.commit()
        logout_user()
        session.clear()
        flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
