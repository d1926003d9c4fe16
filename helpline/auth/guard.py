"""Loading the signed-in user from the server-side session, and the one role check."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps
from typing import Any, Callable, Protocol, cast
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from ..extensions import db, login_manager
from . import parked
from .models import ROLE_LABELS, User, UserSession
from .services import SessionRules, load_session

# Sent by polling elements (hx-headers): such a request does not keep the session alive.
PASSIVE_HEADER = "X-Helpline-Passive"


def session_rules() -> SessionRules:
    """The idle timeout and absolute lifetime from the settings."""
    cfg = current_app.config
    return SessionRules(idle=timedelta(minutes=cfg["IDLE_TIMEOUT_MINUTES"]),
                        lifetime=timedelta(hours=cfg["SESSION_MAX_HOURS"]))


class PassiveView(Protocol):
    """A view function marked by @passive (read by is_passive_request)."""

    passive: bool

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


class RoleCheckedView(Protocol):
    """A view function wrapped by role_required, saying which roles it lets in."""

    allowed_roles: tuple[str, ...]

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


def passive(view: Callable) -> PassiveView:
    """Mark a route that the page calls by itself (event stream, polling): not activity."""
    marked = cast(PassiveView, view)  # a function takes any attribute; this one gets passive
    marked.passive = True
    return marked


def is_passive_request() -> bool:
    """Whether this request was made by the page, not by the user."""
    if request.headers.get(PASSIVE_HEADER) == "1":
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "passive", False))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """A user is signed in only while their server-side session is live (and complete)."""
    sess = load_session(session.get("sid"), session_rules(), touch=not is_passive_request())
    if sess is None or str(sess.user_id) != str(user_id):
        g.session_ended = bool(session.get("sid"))
        if g.session_ended:  # whose it was: a refused post is kept for them (parked)
            ended = db.session.get(UserSession, session.get("sid"))
            g.ended_user_id = ended.user_id if ended is not None else None
        session.clear()
        return None
    g.user_session_id = sess.id
    return db.session.get(User, sess.user_id)


@login_manager.unauthorized_handler
def unauthorized():
    """Send people to sign in, saying why when their session ended."""
    if getattr(g, "session_ended", False):
        flash("You have been signed out. Sign in again to continue.", "info")
    target = _come_back_to()
    ended_user = g.get("ended_user_id")
    if request.method == "POST" and ended_user and request.headers.get("HX-Request") != "true":
        # JavaScript off (no draft in the tab): keep what was typed for after signing in
        token = parked.park(ended_user, request.full_path.rstrip("?"), request.form)
        if token:
            target = url_for("auth.restore", token=token)
    if request.headers.get("HX-Request") == "true":
        # the path only: a fragment's query holds what was being typed (a searched name),
        # and HX-Redirect puts `next` in the address bar and its history
        resp = current_app.response_class(status=401)
        resp.headers["HX-Redirect"] = url_for("auth.login", next=target)
        return resp
    if request.path == url_for("notifications.stream"):
        abort(401)
    return redirect(url_for("auth.login", next=target))


def _come_back_to() -> str:
    """Where to return after signing in: this page, or for a refused POST (or htmx
    fragment) the page it came from, where the draft of the form is offered back."""
    if request.method == "GET" and request.headers.get("HX-Request") != "true":
        return request.full_path.rstrip("?")
    # htmx: the path only, never a query (it holds what was being typed, and HX-Redirect
    # puts `next` in the address bar and its history)
    keep_query = request.headers.get("HX-Request") != "true"
    ref = urlsplit(request.referrer or "")
    if ref.netloc == request.host and ref.path.startswith("/"):
        return ref.path + (f"?{ref.query}" if ref.query and keep_query else "")
    return request.path if request.method == "GET" else "/"


def role_required(*roles: str) -> Callable[[Callable], RoleCheckedView]:
    """Allow signed-in users holding one of roles (administrators hold all)."""

    def decorator(view: Callable) -> RoleCheckedView:
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

        checked = cast(RoleCheckedView, wrapped)  # a function takes any attribute
        checked.allowed_roles = roles  # read by the route × role security matrix
        return checked

    return decorator


# The role checks, by the name every view uses (administrators hold all roles).
staff_required = role_required("volunteer", "supervisor", "data")
supervisor_required = role_required("supervisor")
data_team_required = role_required("data")
admin_required = role_required("admin")
signed_in = staff_required  # every role
