"""SQLite busy: another process holds the write lock while a volunteer saves a case.

What a user would notice: a short lock only makes Save a little slower (SQLite's busy
timeout waits for it). A lock held for longer gives a clear page: "The database is busy
— nothing was saved; please press Save again", with what they typed kept behind a
"Save again" button. Never a case saved without its note or signpost rows.
"""
from __future__ import annotations

import re
import sqlite3
import threading
from html import unescape

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import make_url
from werkzeug.datastructures import MultiDict

from helpline.cases.models import Case, CaseNote
from helpline.db_errors import is_transient
from helpline.extensions import db
from tests.cases.helpers import case_form, item, seed_lists
from tests.conftest import csrf_token, wait_until
from tests.contacts.helpers import make_contact
from tests.factories import make_user

NOTE = "Caller needs food for 4 people.\nNo car."


@pytest.fixture
def setup(app, client, auth):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock; PostgreSQL locks rows")
    seed_lists()
    volunteer = make_user("volunteer", name="Maggie Evans")
    caller = make_contact(volunteer)
    auth.login(volunteer.email)
    client.post(f"/contacts/{caller.id}/verify", data={
        "csrf_token": csrf_token(client, f"/contacts/{caller.id}"), "details": ["Name"]})
    url = f"/cases/new/{caller.id}"
    data = case_form(note=NOTE, **{
        "signposts-0-category": item("signpost_category", "Food banks").id,
        "signposts-1-category": item("signpost_category", "Mental health").id})
    data["csrf_token"] = csrf_token(client, url)
    return {"url": url, "data": data}


class WriteLock:
    """Another program writing to the same database file: BEGIN IMMEDIATE, held."""

    def __init__(self) -> None:
        path = make_url(db.engine.url).database
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.close()


def _saved_completely() -> Case:
    db.session.expire_all()
    case = db.session.scalar(select(Case))
    assert db.session.scalar(select(func.count(Case.id))) == 1
    assert [n.text for n in case.notes] == [NOTE]
    assert [s.category.name for s in case.signposts] == ["Food banks", "Mental health"]
    return case


def _nothing_saved() -> None:
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(CaseNote.id))) == 0


def test_a_short_lock_only_delays_the_save(client, setup):
    writing = threading.Event()

    def first_write(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writing.set()
    event.listen(db.engine, "before_cursor_execute", first_write)
    lock = WriteLock()
    result = {}
    saver = threading.Thread(target=lambda: result.update(
        resp=client.post(setup["url"], data=setup["data"])))
    try:
        saver.start()
        wait_until(writing.is_set, timeout=10, message="the save never started writing")
        _nothing_saved()  # it is waiting for the lock...
    finally:
        lock.release()  # ...which the other program now lets go
        saver.join(20)
        event.remove(db.engine, "before_cursor_execute", first_write)
    assert result["resp"].status_code == 302
    _saved_completely()


def test_a_long_lock_gives_a_clear_page_and_save_again_works(app, client, setup):
    def short_busy_timeout(dbapi_conn, _record):  # instead of 10 s, so the test is quick
        dbapi_conn.execute("PRAGMA busy_timeout=200")
    event.listen(db.engine, "connect", short_busy_timeout)
    db.engine.dispose()
    lock = WriteLock()
    try:
        resp = client.post(setup["url"], data=setup["data"])
    finally:
        lock.release()
        event.remove(db.engine, "connect", short_busy_timeout)
        db.engine.dispose()
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503
    assert "The database is busy — nothing was saved; please press Save again." in html
    assert "Save again" in html
    _nothing_saved()

    # The page kept the form: pressing "Save again" sends the same input.
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))
    kept = [(unescape(n), unescape(v)) for n, v in
            re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', html)]
    assert ("note", NOTE) in kept and ("title", "Food parcel needed") in kept
    again = client.post(action, data=MultiDict(kept))
    assert again.status_code == 302
    _saved_completely()


def test_only_a_busy_database_is_called_busy():
    def error(message: str) -> OperationalError:
        return OperationalError("INSERT …", {}, sqlite3.OperationalError(message))
    assert is_transient(error("database is locked"))
    assert not is_transient(error("no such table: cases"))  # a real fault stays a logged 500
