"""PostgreSQL restarted while volunteers keep saving contacts (the PostgreSQL CI run).

What a user would notice: for the second or two the database is down, Save either works
or shows "The database is busy — nothing was saved; please press Save again" (never a
crash page); pressing Save again works once it is back, and the app recovers by itself
(pool_pre_ping replaces the dead connections; no restart of the web server). Every
contact a volunteer was told was saved is there exactly once.

.ci/run exports HELPLINE_TEST_PG_CTL: the pg_ctl command for the throwaway server (with
-D and -l, prefixed by `runuser -u postgres --` when CI runs as root).
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import shlex
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select

from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.conftest import wait_until
from tests.contacts.helpers import contact_form
from tests.factories import PASSWORD, make_user

PG_CTL = os.environ.get("HELPLINE_TEST_PG_CTL", "")
VOLUNTEERS = 3
BUSY = "The database is busy — nothing was saved; please press Save again."


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer we want to see


class Volunteer:
    """A browser-like client that saves contacts and presses Save again when told to."""

    def __init__(self, base_url: str, email: str, n: int) -> None:
        self.base_url, self.n = base_url, n
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
        self.told_saved: list[str] = []  # last names the app said it saved
        self.busy_pages = 0
        self.problems: list[str] = []  # anything but a save, a busy page or a form
        html = self._call("GET", "/login")[1]
        status, _ = self._call("POST", "/login", {"csrf_token": _token(html), "email": email,
                                                  "password": PASSWORD})
        assert status == 302, "sign-in failed"

    def _call(self, method: str, path: str, form: list | dict | None = None):
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        try:
            with self.opener.open(self.base_url + path, data=data, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def _form(self, stop: threading.Event) -> str | None:
        while not stop.is_set():
            status, html = self._call("GET", "/contacts/new")
            if status == 200:
                return html
            self._note(status, html, "opening the form")
            stop.wait(0.05)
        return None

    def _note(self, status: int, html: str, doing: str) -> None:
        if status == 503 and "The database is busy" in html:
            self.busy_pages += 1
        else:
            self.problems.append(f"{doing}: HTTP {status}")

    def save_one(self, i: int, stop: threading.Event) -> None:
        """Open the form, fill it in, press Save until the app says it is saved."""
        html = self._form(stop)
        if html is None:
            return
        last_name = f"Restart{self.n}x{i}"
        data = {**contact_form(last_name=last_name, phone=f"07700 9{self.n}{i:04d}"),
                "csrf_token": _token(html),
                "form_token": re.search(r'name="form_token" value="([^"]+)"', html).group(1)}
        for _ in range(200):
            status, body = self._call("POST", "/contacts/new", data)
            if status == 302:
                self.told_saved.append(last_name)
                return
            self._note(status, body, f"saving {last_name}")
            if status == 503 and BUSY not in body:
                self.problems.append(f"saving {last_name}: 503 without the busy message")
            stop.wait(0.05)  # the user reads the page, then presses Save again
        self.problems.append(f"{last_name} never saved")

    def run(self, stop: threading.Event) -> None:
        i = 0
        while not stop.is_set():
            try:
                self.save_one(i, stop)
            except Exception as exc:  # a dropped connection is a problem too
                self.problems.append(f"{type(exc).__name__}: {exc}")
            i += 1


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def restartable_postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL run only (TEST_DATABASE_URL=postgresql+psycopg://…)")
    if not PG_CTL:
        pytest.skip("HELPLINE_TEST_PG_CTL is not set (.ci/run sets it to restart its server)")

    def restart() -> None:
        subprocess.run([*shlex.split(PG_CTL), "restart", "-m", "fast", "-w", "-t", "60"],
                       check=True, timeout=90, capture_output=True)
    return restart


def test_saves_during_a_postgres_restart_are_kept_once(app, live_server, restartable_postgres):
    people = [Volunteer(live_server.url, make_user("volunteer").email, n)
              for n in range(VOLUNTEERS)]
    stop = threading.Event()
    threads = [threading.Thread(target=v.run, args=(stop,), daemon=True) for v in people]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: all(len(v.told_saved) >= 2 for v in people), timeout=30,
                   message="saving did not get going")
        before = [len(v.told_saved) for v in people]
        restartable_postgres()  # pg_ctl restart -m fast: every connection is cut
        wait_until(lambda: all(len(v.told_saved) >= b + 3 for v, b in zip(people, before)),
                   timeout=30, message="the app did not recover after the restart")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    problems = [p for v in people for p in v.problems]
    assert not problems, problems  # only saves and clear busy pages, never a crash

    db.session().invalidate()  # this test's own connection was cut by the restart too
    told = [name for v in people for name in v.told_saved]
    counts = dict(db.session.execute(
        select(Contact.last_name, func.count(Contact.id))
        .where(Contact.last_name.like("Restart%")).group_by(Contact.last_name)).all())
    assert {name: counts.get(name, 0) for name in told} == {name: 1 for name in told}
    assert all(c == 1 for c in counts.values()), "a contact was saved twice"
    print(f"{len(told)} saves, {sum(v.busy_pages for v in people)} busy pages shown")
