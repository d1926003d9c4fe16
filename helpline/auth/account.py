"""A user's own account: change password, second factor, recovery codes; the typing
keep-alive; and the recent failed sign-ins for supervisors and administrators."""
from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import audit
from ..extensions import add_error, db, table_of
from ..timeutil import utcnow
from . import bp, parked, services, throttle, twofactor
from .forms import ChangePasswordForm, ConfirmPasswordForm, EmptyForm
from .guard import signed_in, supervisor_required
from .models import LoginAttempt, UserSession
from .steps import setup_page
from .views import _client_ip, _limits, _safe_next


@bp.get("/account")
@signed_in
def account():
    """The signed-in user's account: password and second factor."""
    return render_template(
        "auth/account.html", form=EmptyForm(),
        codes_left=twofactor.recovery_codes_left(current_user),
        required=twofactor.required_for(current_user,
                                        current_app.config["TWO_FACTOR_REQUIRED_ROLES"]))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    """Change your own password: the current one, then the new one twice."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        current, new, again = (form.current_password.data, form.new_password.data,
                               form.new_password_again.data)
        # InputRequired on all three: each was typed
        assert current is not None and new is not None and again is not None
        problem = _checked_password(current, "Your current password is not right")
        if problem:
            add_error(form.current_password, problem)
            return render_template("auth/change_password.html", form=form), 422
        errors = services.change_own_password(
            current_user, current, new, again, current_app.config["PASSWORD_MIN_LENGTH"])
        for name, message in errors.items():
            getattr(form, name).errors.append(message)
        if not errors:
            # Other sessions (another PC) end; this one goes on.
            db.session.execute(
                table_of(UserSession).update()
                .where(UserSession.user_id == current_user.id,
                       UserSession.ended_at.is_(None), UserSession.id != session.get("sid"))
                .values(ended_at=utcnow(), end_reason="password changed"))
            db.session.commit()
            flash("Your password has been changed.", "success")
            return redirect(url_for("auth.account"))
    return (render_template("auth/change_password.html", form=form),
            422 if form.errors else 200)


CONFIRMED_AT = "password_confirmed_at"  # when this browser last typed the password again
CONFIRM_MINUTES = 10


def _checked_password(password: str | None,
                      wrong: str = "Your password is not right") -> str | None:
    """None if this is the signed-in user's password, else the message for the field. Wrong
    passwords here are throttled like sign-ins (someone at an unattended PC must not guess
    it) and shown on the failed sign-ins page."""
    limits = _limits()
    ticket = throttle.take(f"password:{current_user.id}", limits.per_account, limits)
    db.session.commit()
    if not ticket.allowed:
        return f"Too many wrong passwords. Wait {int(ticket.wait + 0.999)} seconds."
    if services.password_is(current_user, password):
        throttle.succeeded(ticket, forget=True)
        db.session.commit()
        return None
    throttle.failed(ticket, limits.per_account, limits)
    db.session.add(LoginAttempt(email=current_user.email, ip=_client_ip()[:64], success=False))
    audit.record(current_user, "password check failed", "user", current_user.id,
                 ip=_client_ip())
    db.session.commit()
    return wrong


def recent_password(view):
    """Changes to how someone signs in need their password typed in the last 10 minutes:
    whoever sits down at a PC left signed in cannot enrol their own phone or take the
    recovery codes."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        at = session.get(CONFIRMED_AT)
        if at is None or time.time() - at > CONFIRM_MINUTES * 60:
            back = request.path if request.method == "GET" else url_for("auth.account")
            return redirect(url_for("auth.confirm_password", next=back))
        return view(*args, **kwargs)
    return wrapped


@bp.route("/account/confirm", methods=["GET", "POST"])
@signed_in
def confirm_password():
    """Type your password again before changing your second factor."""
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        problem = _checked_password(form.password.data)
        if problem:
            add_error(form.password, problem)
        else:
            session[CONFIRMED_AT] = time.time()
            return redirect(_safe_next(request.args.get("next") or url_for("auth.account")))
    return (render_template("auth/confirm_password.html", form=form),
            422 if form.errors else 200)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@signed_in
@recent_password
def two_factor_own():
    """Set up the second factor (optional for volunteers unless the setting requires it)."""
    if current_user.totp_enabled_at:
        return redirect(url_for("auth.account"))
    return setup_page(current_user, None, url_for("auth.account"))


@bp.post("/account/recovery-codes")
@signed_in
@recent_password
def new_recovery_codes():
    """Replace the recovery codes (the old ones stop working)."""
    if not EmptyForm().validate_on_submit() or not current_user.totp_enabled_at:
        return redirect(url_for("auth.account"))
    codes = twofactor.new_recovery_codes(current_user)
    audit.record(current_user, "recovery codes replaced", "user", current_user.id)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes,
                           next_url=url_for("auth.account"))


@bp.get("/restore/<token>")
@signed_in
def restore(token: str):
    """What a form held when its post met the end of the session: shown once, to its
    user, with one button that sends it again (a fresh CSRF token; everything else as
    typed, including the form's once-only token)."""
    kept = parked.take(token, current_user.id)
    db.session.commit()
    if kept is None:
        flash("There is nothing to send again: unsaved work is kept for 2 hours, for the "
              "person who typed it.", "info")
        return redirect(url_for("contacts.index"))
    path, fields = kept
    return render_template("auth/restore.html", path=_safe_next(path), fields=fields,
                           form=EmptyForm())


@bp.post("/session/keep-alive")
@signed_in
def keep_alive():
    """The user is typing in a form: that is activity (the page calls this, throttled)."""
    if EmptyForm().validate_on_submit():
        sess = db.session.get(UserSession, session.get("sid"))
        if sess is not None:
            services.keep_alive(sess)
            db.session.commit()
    return "", 204


@bp.get("/sign-in-failures")
@supervisor_required
def failures():
    """Recent failed sign-ins by account and by address, with any wait now in force."""
    since = utcnow() - timedelta(hours=24)
    rows = db.session.execute(
        select(LoginAttempt.email, LoginAttempt.ip, func.count(LoginAttempt.id),
               func.max(LoginAttempt.at))
        .where(LoginAttempt.success.is_(False), LoginAttempt.at >= since)
        .group_by(LoginAttempt.email, LoginAttempt.ip)
        .order_by(func.max(LoginAttempt.at).desc()).limit(200)).all()
    waits = {t.key: t for t in db.session.scalars(
        select(throttle.LoginThrottle).where(throttle.LoginThrottle.next_allowed_at > utcnow()))}
    return render_template("auth/failures.html", rows=rows, waits=waits, now=utcnow(),
                           account_key=throttle.account_key, address_key=throttle.address_key)
