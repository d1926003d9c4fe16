"""Notifications page and the SSE endpoint."""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import events
from ..auth.forms import EmptyForm
from ..auth.guard import passive, session_rules, signed_in
from ..auth.models import User, UserSession
from ..extensions import db
from ..timeutil import utcnow
from . import bp, services
from .models import Notification
from .signals import stream_frames

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.local import LocalProxy


@bp.get("/notifications")
@signed_in
def index():
    """The signed-in user's notifications, newest first."""
    items = services.recent(current_user)
    return render_template("notifications/index.html", items=items, form=EmptyForm())


@bp.post("/notifications/read")
@signed_in
def mark_read():
    """Mark all as read."""
    if EmptyForm().validate_on_submit():
        services.mark_all_read(current_user)
        db.session.commit()
        flash("All notifications marked as read.", "success")
    return redirect(url_for("notifications.index"))


def _last_id() -> int | None:
    """The last event id the page saw: the URL (htmx reconnects) or Last-Event-ID."""
    sent = [request.args.get("last_id", type=int),
            request.headers.get("Last-Event-ID", type=int)]
    ids = [i for i in sent if i is not None]
    return max(ids) if ids else None


@bp.get("/events")
@passive  # the page's own connection: reconnecting is not activity
@signed_in
def stream():
    """Stream this user's events; replays what a reconnecting page missed."""
    # the app itself, for the stream that outlives this request (Flask types the proxy as
    # the Flask it stands for)
    app = cast("LocalProxy[Flask]", current_app)._get_current_object()
    user_id, sid = current_user.id, session.get("sid")
    channels = {events.USER_CHANNEL.format(user_id)}
    channels |= {events.TEAM_CHANNEL.format(t.id) for t in current_user.teams}
    last_id = _last_id()
    if last_id is None:
        last_id = events.latest_id(db.session, Notification, user_id)
    engine = db.engine
    # Fetched because a reminder fell due, not because the user did anything: passive.
    reminder_trigger = (f'<div hx-get="{url_for("callbacks.reminders")}" hx-trigger="load" '
                        'hx-headers=\'{"X-Helpline-Passive": "1"}\' hx-target="#reminders" '
                        'hx-swap="innerHTML"></div>')
    # A phone call rang or changed (telephony): the page re-reads its call panel.
    call_trigger = (f'<div hx-get="{url_for("telephony.panel")}" hx-trigger="load" '
                    'hx-headers=\'{"X-Helpline-Passive": "1"}\' hx-target="#call-panel" '
                    'hx-swap="innerHTML"></div>')
    rules = session_rules()
    item_tpl = app.jinja_env.get_template("notifications/_item.html")
    count_tpl = app.jinja_env.get_template("notifications/_count.html")
    db.session.remove()  # never hold the request's session while streaming

    def fetch_new(s, after):
        rows = list(s.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.id > after)
            .order_by(Notification.id).limit(100)))
        if not rows:
            return []
        if all(n.kind == "call" for n in rows):  # a phone call only: no count, no badges
            return [(n.id, [("call", call_trigger)]) for n in rows]
        unread_now = services.unread_count(s.get(User, user_id), s)
        out = []
        for n in rows:
            if n.kind == "call":  # stored read, with nothing personal: the panel says it
                out.append((n.id, [("call", call_trigger)]))
                continue
            frames = [("notification", item_tpl.render(n=n)),
                      ("unread", count_tpl.render(count=unread_now))]
            if n.kind in ("reminder", "callback-moved"):  # the page re-reads its pop-ups
                frames.append(("reminder", reminder_trigger))
            out.append((n.id, frames))
        # Other domains' navigation badges, once per batch (e.g. "My call backs": assignments
        # and moves come with a notification, so the badge is live).
        for _receiver, frames in stream_frames.send(app, session=s, user_id=user_id):
            out[-1][1].extend(frames or [])
        return out

    def still_valid(s):
        sess = s.get(UserSession, sid)
        now = utcnow()
        return (sess is not None and sess.ended_at is None
                and now - sess.last_seen_at <= rules.idle
                and now - sess.created_at <= rules.lifetime)

    body = events.stream(engine, app.extensions["broker"], channels, fetch_new, still_valid,
                         last_id, app.config["SSE_KEEPALIVE_SECONDS"],
                         app.config["SSE_MAX_STREAM_SECONDS"])
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
