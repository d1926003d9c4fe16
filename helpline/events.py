"""Live events: stored notifications, Redis pub/sub wake-ups and the SSE stream.

A notification is written to the database first; after the commit its user's (or
team's) Redis channel gets a small "wake up" message. Each web process holds ONE
pub/sub connection (the Broker) and fans wake-ups out to its open streams, which then
read what is new from the database. Pub/sub forgets, the database does not: a stream
that missed a wake-up still catches up at its next keepalive, and a page that
reconnects gets everything after the last id it saw.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Iterable, Iterator

import redis
from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .extensions import AnySession, db

log = logging.getLogger(__name__)
USER_CHANNEL = "helpline:user:{}"
TEAM_CHANNEL = "helpline:team:{}"
_PENDING = "helpline_pending_publish"


def publish_after_commit(channels: Iterable[str]) -> None:
    """Queue wake-ups on the current session, sent only once it commits."""
    db.session.info.setdefault(_PENDING, set()).update(channels)


@event.listens_for(Session, "after_commit")
def _flush_publishes(session: Session) -> None:
    channels = session.info.pop(_PENDING, None)
    if channels:
        publish(channels)


@event.listens_for(Session, "after_rollback")
def _drop_publishes(session: Session) -> None:
    session.info.pop(_PENDING, None)


def publish(channels: Iterable[str]) -> None:
    """Send wake-ups now; if Redis is down the stored rows are delivered later anyway."""
    try:
        conn = current_app.extensions["redis"]
        for channel in channels:
            conn.publish(channel, "1")
    except redis.RedisError as exc:  # the database row is the truth; streams poll too
        log.warning("could not publish %s: %s", channels, exc)


class Broker:
    """One pub/sub subscriber per process, fanning wake-ups out to open streams."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._subs: dict[queue.Queue, set[str]] = {}
        self._thread: threading.Thread | None = None

    def subscribe(self, channels: set[str]) -> queue.Queue:
        """Register a stream interested in channels; returns its wake-up queue."""
        q: queue.Queue = queue.Queue(maxsize=100)
        with self._lock:
            self._subs[q] = channels
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                 name="sse-broker")
                self._thread.start()
        return q

    def subscriber_count(self) -> int:
        """How many streams this process holds open."""
        with self._lock:
            return len(self._subs)

    def unsubscribe(self, q: queue.Queue) -> None:
        """Forget a stream that has gone away."""
        with self._lock:
            self._subs.pop(q, None)

    def _wake(self, channel: str | None) -> None:
        with self._lock:
            targets = [q for q, chans in self._subs.items() if channel is None or channel in chans]
        for q in targets:
            try:
                q.put_nowait(channel)
            except queue.Full:
                pass

    def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = redis.Redis.from_url(self.url, socket_connect_timeout=2,
                                            health_check_interval=10)
                pubsub = conn.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe("helpline:user:*", "helpline:team:*")
                self._wake(None)  # after a (re)connect, let every stream re-read
                delay = 0.5
                while True:
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "pmessage":
                        chan = msg["channel"]
                        self._wake(chan.decode() if isinstance(chan, bytes) else chan)
            except Exception as exc:  # keep the broker alive through Redis restarts
                log.warning("SSE broker lost Redis (%s); retrying", exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def format_event(event_name: str, data: str, event_id: int | None = None) -> str:
    """One SSE frame; multi-line data becomes several data: lines."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event_name}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def stream(
    engine,
    broker: Broker,
    channels: set[str],
    fetch_new,
    still_valid,
    last_id: int,
    keepalive: float,
    max_seconds: float = 0,
) -> Iterator[str]:
    """Yield SSE frames forever: new rows after last_id, keepalives, and stop on sign-out.

    fetch_new(session, last_id) returns a list of (id, [(event, html), ...]);
    still_valid(session) says whether the signed-in session is still live.
    Runs without the request's database session, using short sessions of its own.
    """
    wake = broker.subscribe(channels)
    deadline = time.monotonic() + max_seconds if max_seconds else None
    try:
        yield "retry: 2000\n\n"
        while deadline is None or time.monotonic() < deadline:
            with Session(engine) as s:
                if not still_valid(s):
                    yield format_event("signed-out", "")
                    return
                for row_id, frames in fetch_new(s, last_id):
                    for name, html in frames:
                        yield format_event(name, html, row_id)
                    last_id = row_id
            try:
                wake.get(timeout=keepalive)
                while not wake.empty():  # coalesce a burst of wake-ups
                    wake.get_nowait()
            except queue.Empty:
                yield ": keepalive\n\n"
    finally:
        broker.unsubscribe(wake)


def latest_id(session: AnySession, model, user_id: int) -> int:
    """Highest row id for a user, the starting point of a fresh page."""
    return session.scalar(
        select(model.id).where(model.user_id == user_id).order_by(model.id.desc()).limit(1)
    ) or 0
