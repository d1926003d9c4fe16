"""The steps a sign-in may still owe: a second-factor code, a new password in place of a
temporary one, or setting up the second factor. No page of the app opens before them."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import audit, site_settings
from ..extensions import add_error, db
from ..timeutil import utcnow
from . import bp, services, throttle, twofactor
from .forms import CodeForm, NewPasswordForm
from .models import LoginAttempt
from .views import _client_ip, _limits, _pending_session, _safe_next, continue_sign_in

PENDING_SECRET = "totp_pending"  # the secret being set up, in this browser's session only


def _owed(step: str):
    """The pending session if it owes `step`; otherwise where the browser should go."""
    if current_user.is_authenticated:
        return None, redirect(url_for("contacts.index"))
    sess = _pending_session()
    if sess is None:
        return None, redirect(url_for("auth.login", next=request.args.get("next")))
    if step == "totp-setup" and sess.user.totp_enabled_at is not None:
        # set up meanwhile in another browser: this one now owes a code from that app, and
        # can never enrol a second secret over it
        sess.pending = services.next_step(sess.user, sess, _roles())
        db.session.commit()
    if sess.pending != step:
        return None, continue_sign_in(sess, request.args.get("next"))
    return sess, None


def _roles() -> tuple[str, ...]:
    return current_app.config["TWO_FACTOR_REQUIRED_ROLES"]


def _check_code(user, code: str) -> str | None:
    """None if the code (TOTP or recovery) is good, else the message for the field."""
    limits = _limits()
    ticket = throttle.take(f"totp:{user.id}", limits.per_account, limits)
    db.session.commit()
    if not ticket.allowed:
        audit.record(None, "two-factor failed", "user", user.id, ip=_client_ip(),
                     reason="delayed: too many wrong codes")
        return (f"Too many wrong codes. Wait {services._wait_text(ticket.wait)} and try "
                f"again, or ask {site_settings.account_help()}.")
    if twofactor.verify_totp(user, code):
        throttle.succeeded(ticket, forget=True)
        return None
    if twofactor.use_recovery_code(user, code):
        throttle.succeeded(ticket, forget=True)
        audit.record(user, "recovery code used", "user", user.id, ip=_client_ip(),
                     reason=f"{twofactor.recovery_codes_left(user)} left")
        return None
    throttle.failed(ticket, limits.per_account, limits)
    audit.record(None, "two-factor failed", "user", user.id, ip=_client_ip())
    # a wrong code means the password is known: show it beside failed sign-ins
    db.session.add(LoginAttempt(email=user.email, ip=_client_ip()[:64], success=False))
    if twofactor.just_used(user, code):
        return ("That code has just been used. Wait for your authenticator app to show the "
                "next one (at most 30 seconds), then enter it.")
    return ("That code is not right. Enter the 6-digit code your authenticator app shows "
            "now, or one of your recovery codes.")


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor():
    """Second step of signing in: the code from the authenticator app (or a recovery code)."""
    sess, elsewhere = _owed("totp")
    if elsewhere is not None:
        return elsewhere
    form = CodeForm()
    if form.validate_on_submit():
        code = form.code.data
        assert code is not None  # InputRequired: a code was typed
        error = _check_code(sess.user, code)
        if error is None:
            secret = sess.user.totp_secret
            if not secret or twofactor.code_matches(secret, code) is None:
                left = twofactor.recovery_codes_left(sess.user)
                flash(f"You signed in with a recovery code: {left} left, each works once. "
                      "You can make new ones from Your account.", "info")
            sess.second_factor_at = utcnow()
            services.step_done(sess, _roles())
            db.session.commit()
            return continue_sign_in(sess, request.args.get("next"))
        db.session.commit()
        add_error(form.code, error)
    return (render_template("auth/two_factor.html", form=form),
            422 if form.errors else 200)


@bp.route("/login/new-password", methods=["GET", "POST"])
def password_required():
    """A temporary password (set by an administrator) must be replaced before going on."""
    sess, elsewhere = _owed("password")
    if elsewhere is not None:
        return elsewhere
    form = NewPasswordForm()
    if form.validate_on_submit():
        user = sess.user
        new_password = form.new_password.data
        assert new_password is not None  # InputRequired: it was typed
        reason = services.passwords.problem(
            new_password, current_app.config["PASSWORD_MIN_LENGTH"],
            ("helpline", user.email, user.name))
        if reason:
            add_error(form.new_password, reason)
        elif new_password != form.new_password_again.data:
            add_error(form.new_password_again, "The two new passwords are not the same")
        elif services.check_password_hash(user.password_hash, new_password):
            add_error(form.new_password, "Choose a password different from the temporary one")
        else:
            user.password_hash = services.hash_password(new_password)
            user.password_must_change = False
            user.password_changed_at = utcnow()
            audit.record(user, "password changed", "user", user.id, reason="temporary replaced")
            services.step_done(sess, _roles())
            db.session.commit()
            return continue_sign_in(sess, request.args.get("next"))
    return (render_template("auth/new_password.html", form=form),
            422 if form.errors else 200)


@bp.route("/login/two-factor/set-up", methods=["GET", "POST"])
def two_factor_setup():
    """Set up the second factor before the first page opens (required for this role)."""
    sess, elsewhere = _owed("totp-setup")
    if elsewhere is not None:
        return elsewhere
    return setup_page(sess.user, sess, request.args.get("next"))


def setup_page(user, sess, next_url: str | None):
    """Show the secret (QR code and text), confirm a code, then show the recovery codes."""
    # A fresh secret for this browser only, kept in its session until a code confirms it:
    # someone else who opened a set-up page (with the password) never learns the secret
    # the user finally enrols.
    pending = session.get(PENDING_SECRET)
    if not pending:  # kept across reloads of this browser's page (the QR code stays valid)
        pending = session[PENDING_SECRET] = twofactor.new_secret()
    form = CodeForm()
    if form.validate_on_submit():
        code = form.code.data
        assert code is not None  # InputRequired: a code was typed
        step = twofactor.code_matches(pending, code)
        if step is None:
            add_error(form.code, "That code is not right. Enter the 6-digit code your "
                                    f"authenticator app shows for {current_app.config['TWO_FACTOR_ISSUER']} now.")
        else:
            session.pop(PENDING_SECRET, None)
            codes = twofactor.enable(user, pending, user)
            user.totp_last_step = step  # this code cannot be used again to sign in
            if sess is not None:
                sess.second_factor_at = utcnow()
                services.step_done(sess, _roles())
            db.session.commit()
            if sess is not None:
                continue_sign_in(sess, next_url)  # signs the session in
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=services_next(next_url))
    uri = twofactor.provisioning_uri(user, pending, current_app.config["TWO_FACTOR_ISSUER"])
    return (render_template("auth/two_factor_setup.html", form=form, uri=uri,
                            secret=pending, qr=twofactor.qr_data_uri(uri),
                            required=sess is not None),
            422 if form.errors else 200)


def services_next(next_url: str | None) -> str:
    """Where "Continue" goes after the recovery codes."""
    return _safe_next(next_url)
