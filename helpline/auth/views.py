"""Sign in and sign out."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import audit, site_settings
from ..extensions import add_error, db
from . import bp, services
from .forms import EmptyForm, LoginForm
from .guard import session_rules, signed_in
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
        delay=cfg["LOGIN_DELAY_SECONDS"],
        max_delay=cfg["LOGIN_MAX_DELAY_SECONDS"],
    )


def _pending_session() -> UserSession | None:
    """The session of someone half way through signing in (code or password owed)."""
    sess = services.load_session(session.get("sid"), session_rules(), pending_ok=True)
    return sess if sess is not None and sess.pending else None


def continue_sign_in(sess: UserSession, next_url: str | None):
    """Send the browser to the step this session still owes, or into the app."""
    if sess.pending:
        return redirect(url_for(STEP_VIEWS[sess.pending], next=next_url))
    login_user(sess.user)
    return redirect(_safe_next(next_url))


STEP_VIEWS = {"totp": "auth.two_factor", "password": "auth.password_required",
              "totp-setup": "auth.two_factor_setup"}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("contacts.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email, password = form.email.data, form.password.data
        assert email is not None and password is not None  # InputRequired: both were typed
        try:
            user = services.authenticate(email, password, _client_ip(),
                                         _limits(), site_settings.account_help())
        except services.SignInError as exc:
            db.session.commit()
            add_error(form.password, str(exc))
        else:
            half_way = _pending_session()  # someone else's unfinished sign-in on this PC
            if half_way is not None:
                services.end_session(half_way, "replaced")
            sess = services.start_session(user, _client_ip(), request.user_agent.string,
                                          current_app.config["TWO_FACTOR_REQUIRED_ROLES"])
            db.session.commit()
            session.clear()  # a new session at sign-in: nothing carried over
            session["sid"] = sess.id
            return continue_sign_in(sess, request.args.get("next"))
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


from . import account, steps  # noqa: E402,F401  (more routes on this blueprint)
