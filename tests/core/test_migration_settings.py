"""Migration e18a0a0a0001 adds the settings table and takes it away again; nothing else
changes. On SQLite here; on PostgreSQL when TEST_DATABASE_URL is set (a database of its
own, like tests/core/test_upgrade.py)."""
import os

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from helpline import create_app, site_settings
from helpline.extensions import db
from tests.conftest import ROOT

BEFORE = "f16b0b0b0001"


def _database(tmp_path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'settings.db'}"
    url = make_url(base)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS helpline_settings_test"))
        conn.execute(text("CREATE DATABASE helpline_settings_test"))
    engine.dispose()
    return url.set(database="helpline_settings_test").render_as_string(hide_password=False)


def test_upgrade_adds_the_settings_table_and_downgrade_removes_it(tmp_path, redis_server):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database(tmp_path),
                      "REDIS_URL": redis_server.url, "SETTINGS_CACHE_SECONDS": 0})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (email, name, password_hash, role, frontline_operator, "
                "language, active, created_at, password_must_change) VALUES "
                "('a@x.org', 'A', 'h', 'admin', false, 'English', true, '2026-01-01', false)"))
        assert "settings" not in inspect(db.engine).get_table_names()
        assert site_settings.service_name() == "Helpline"  # no table yet: the default
        db.session.remove()

        upgrade(directory=migrations)
        assert "settings" in inspect(db.engine).get_table_names()
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO settings (key, value, updated_at, updated_by_id) "
                              "VALUES ('service_name', 'Carers Line', '2026-12-07', 1)"))
        site_settings.invalidate()  # a failed read is not retried for a few seconds
        assert site_settings.service_name() == "Carers Line"
        db.session.remove()

        downgrade(directory=migrations, revision=BEFORE)
        assert "settings" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT email FROM users")).scalars().all() == ["a@x.org"]
        site_settings.invalidate()
        # a table that goes away keeps the values last read (a database blip must not
        # flip the texts); a process starting now has only the defaults
        assert site_settings.service_name() == "Carers Line"
        db.session.remove()
    fresh = create_app({**app.config})
    with fresh.app_context():
        assert site_settings.service_name() == "Helpline"
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        upgrade(directory=migrations)  # and up again
        assert "settings" in inspect(db.engine).get_table_names()
        db.engine.dispose()
