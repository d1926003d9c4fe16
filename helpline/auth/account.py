"""A user's own account: change password, second factor, recovery codes; the typing
keep-alive; and the recent failed sign-ins for supervisors and administrators."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..timeutil import utcnow
from . import bp, services, throttle, twofactor
from .forms import ChangePasswordForm, EmptyForm
from .guard import role_required, signed_in
from .models import LoginAttempt, UserSession
from .steps import setup_page


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
        errors = services.change_own_password(
            current_user, form.current_password.data, form.new_password.data,
            form.new_password_again.data, current_app.config["PASSWORD_MIN_LENGTH"])
        for name, message in errors.items():
            getattr(form, name).errors.append(message)
        if not errors:
            # Other sessions (another PC) end; this one goes on.
            db.session.execute(
                UserSession.__table__.update()
                .where(UserSession.user_id == current_user.id,
                       UserSession.ended_at.is_(None), UserSession.id != session.get("sid"))
                .values(ended_at=utcnow(), end_reason="password changed"))
            db.session.commit()
            flash("Your password has been changed.", "success")
            return redirect(url_for("auth.account"))
    return (render_template("auth/change_password.html", form=form),
            422 if form.errors else 200)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@signed_in
def two_factor_own():
    """Set up the second factor (optional for volunteers unless the setting requires it)."""
    if current_user.totp_enabled_at:
        return redirect(url_for("auth.account"))
    return setup_page(current_user, None, url_for("auth.account"))


@bp.post("/account/recovery-codes")
@signed_in
def new_recovery_codes():
    """Replace the recovery codes (the old ones stop working)."""
    if not EmptyForm().validate_on_submit() or not current_user.totp_enabled_at:
        return redirect(url_for("auth.account"))
    codes = twofactor.new_recovery_codes(current_user)
    audit.record(current_user, "recovery codes replaced", "user", current_user.id)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes,
                           next_url=url_for("auth.account"))


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
@role_required("supervisor")
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
