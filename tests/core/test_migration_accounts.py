"""Migration d16a0a0a0001 upgrades existing users sensibly and loses nothing on SQLite."""
import os
import sqlite3

import pytest
from flask_migrate import downgrade, upgrade

from helpline import create_app
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="SQLite's table rebuilds are what this guards against")


def test_upgrade_keeps_sessions_and_teams_and_ends_privileged_sessions(tmp_path, redis_server):
    path = tmp_path / "old.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "REDIS_URL": redis_server.url})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="c14a0a0a0001")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO users (email, name, password_hash, role, frontline_operator, "
                  "language, active, created_at) VALUES "
                  "('a@x.org', 'A', 'h', 'admin', 0, 'English', 1, '2026-01-01'), "
                  "('v@x.org', 'V', 'h', 'volunteer', 0, 'English', 1, '2026-01-01')")
    conn.execute("INSERT INTO teams (name, created_at) VALUES ('Night Shift', '2026-01-01')")
    conn.execute("INSERT INTO user_teams VALUES (1, 1), (2, 1)")
    conn.execute("INSERT INTO user_sessions (id, user_id, created_at, last_seen_at) VALUES "
                 "('s-admin', 1, '2026-01-01', '2026-01-01'), "
                 "('s-volunteer', 2, '2026-01-01', '2026-01-01')")
    conn.commit()
    conn.close()
    with app.app_context():
        upgrade(directory=migrations)
    conn = sqlite3.connect(path)
    sessions = dict(conn.execute("SELECT id, end_reason FROM user_sessions"))
    assert sessions == {"s-admin": "two-factor introduced", "s-volunteer": None}
    assert conn.execute("SELECT email, password_must_change FROM users ORDER BY id").fetchall() \
        == [("a@x.org", 0), ("v@x.org", 0)]
    assert conn.execute("SELECT count(*) FROM user_teams").fetchone() == (2,)
    conn.close()
    with app.app_context():
        downgrade(directory=migrations, revision="c14a0a0a0001")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM user_sessions").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM user_teams").fetchone() == (2,)
    conn.close()
