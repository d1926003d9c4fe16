"""Page chrome in one place: the header's badges, the reminders shown on every page, and
the forms they need. It sits above every domain (it counts their records); each badge is
one COUNT query, computed inside its own guard (a failing badge leaves the page whole)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.local import LocalProxy

from .auth.forms import EmptyForm
from .auth.models import User
from .badges import badge
from .callback_requests.models import CallBackRequest
from .callbacks.forms import SnoozeForm
from .callbacks.services import open_callbacks, showing_for
from .cases import queues as case_queues
from .events import latest_id
from .extensions import AnySession, db
from .interactions.services import unfinished_count
from .notifications.models import Notification
from .notifications.services import unread_count
from .review.referrals import waiting_count
from .supervisor import morning_review as review
from .telephony import services as telephony


def unread(session: AnySession, user: User) -> int:
    """Notifications not read yet."""
    return unread_count(user, session)


def my_call_backs(session: AnySession, user: User) -> int:
    """Open call backs the user owns ("My call backs")."""
    return open_callbacks(session, user.id)


def awaiting_calls(session: AnySession, user: User) -> int:
    """Call-back requests allocated to the user and waiting for their calls."""
    return session.scalar(select(func.count(CallBackRequest.id)).where(
        CallBackRequest.status == "Awaiting Calls",
        CallBackRequest.caseworker_id == user.id)) or 0


def morning_review(session: AnySession, user: User) -> int | None:
    """Items waiting in Morning Review (supervisors and morning reviewers; None: no badge)."""
    if not user.reviews_mornings:
        return None
    return review.count(user)


def unfinished_interactions(session: AnySession, user: User) -> int:
    """Interactions the user is a handler on that still need finishing (no Call State or Duration)."""
    return unfinished_count(session, user)


def case_queue(name: str) -> Callable[[AnySession, User], int | None]:
    """A case queue's count (My cases, Assigned to me, …; Awaiting review: data team only)."""
    def compute(session: AnySession, user: User) -> int | None:
        return case_queues.count(session, user, name)
    return compute


def referrals_waiting(session: AnySession, user: User) -> int | None:
    """Local Referrals awaiting a local team (the data team only; None: no badge)."""
    return waiting_count(session) if user.has_role("data") else None


def missed_calls(session: AnySession, user: User) -> int | None:
    """Missed calls not yet called back (staff; None: no badge)."""
    staff = user.has_role("volunteer", "supervisor", "data")
    return telephony.missed_count(session, user) if staff else None


BADGES: dict[str, Callable[[AnySession, User], int | None]] = {
    "unread_count": unread, "my_callbacks_count": my_call_backs,
    "awaiting_calls_count": awaiting_calls, "morning_review_count": morning_review,
    "my_cases_count": case_queue("mine"), "assigned_to_me_count": case_queue("assigned"),
    "team_cases_count": case_queue("team"), "sent_back_count": case_queue("sent-back"),
    "awaiting_review_count": case_queue("awaiting-review"),
    "unfinished_interactions_count": unfinished_interactions,
    "referrals_waiting_count": referrals_waiting, "missed_calls_count": missed_calls}


def badges(user: User, session: AnySession | None = None,
           names: tuple[str, ...] = tuple(BADGES)) -> dict[str, int]:
    """The navigation's counts for `user` (pages and the event stream use the same ones);
    a badge that fails is logged and left out, one that does not apply is None → left out."""
    session = session or db.session
    out: dict[str, int] = {}
    for name in names:
        def compute(n: str = name) -> int | None:
            return BADGES[n](session, user)
        out |= {k: v for k, v in badge(name, compute).items() if v is not None}
    return out


def _form(name: str, form_class: type[FlaskForm]) -> Any:
    """The chrome's form, made when a template first uses it (most fragments never do)."""
    def made() -> FlaskForm:
        forms = g.setdefault("chrome_forms", {})
        if name not in forms:
            forms[name] = form_class()
        return forms[name]
    return LocalProxy(made)


def _chrome() -> dict:
    forms = {"signout_form": _form("signout_form", EmptyForm)}
    if not current_user.is_authenticated:
        return forms
    forms["snooze_form"] = _form("snooze_form", SnoozeForm)
    if request.headers.get("HX-Request"):  # fragments do not render the header
        return forms
    user = current_user._get_current_object()
    return {**forms, **badges(user),
            **badge("active_reminders", lambda: showing_for(user)),
            **badge("last_event_id", lambda: latest_id(db.session, Notification, user.id)),
            **badge("call_panel_count", lambda: telephony.panel_count(user))}


def register_navigation(app: Flask) -> None:
    @app.context_processor
    def navigation() -> dict:
        # GOV.UK form widgets render a template per field, and each render runs every
        # context processor again: work the chrome out once per request.
        if "ctx_navigation" not in g:
            g.ctx_navigation = _chrome()
        return g.ctx_navigation
