"""Loading the signed-in user from the server-side session, and the one role check."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps
from typing import Callable

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from ..extensions import db, login_manager
from .models import ROLE_LABELS, User
from .services import load_session


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """A user is signed in only while their server-side session is live."""
    idle = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
    sess = load_session(session.get("sid"), idle)
    if sess is None or str(sess.user_id) != str(user_id):
        g.session_ended = bool(session.get("sid"))
        session.clear()
        return None
    g.user_session_id = sess.id
    return db.session.get(User, sess.user_id)


@login_manager.unauthorized_handler
def unauthorized():
    """Send people to sign in, saying why when their session ended."""
    if getattr(g, "session_ended", False):
        flash("You have been signed out. Sign in again to continue.", "info")
    if request.headers.get("HX-Request") == "true":
        # the path only: a fragment's query holds what was being typed (a searched name),
        # and HX-Redirect puts `next` in the address bar and its history
        resp = current_app.response_class(status=401)
        resp.headers["HX-Redirect"] = url_for("auth.login", next=request.path)
        return resp
    if request.path == url_for("notifications.stream"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def role_required(*roles: str) -> Callable:
    """Allow signed-in users holding one of roles (administrators hold all)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                needed = " or ".join(ROLE_LABELS[r] for r in roles)
                abort(403, description=(
                    f"This page needs the {needed} role. You are signed in as "
                    f"{current_user.name} with the {current_user.role_label} role."
                ))
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the route × role security matrix
        return wrapped

    return decorator


staff_required = role_required("volunteer", "supervisor", "data")
signed_in = staff_required  # every role (administrators hold all roles)
