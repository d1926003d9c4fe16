"""`flask db upgrade` from empty works and matches the models."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect

from helpline import create_app
from helpline.extensions import db
from tests.conftest import ROOT


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="the PostgreSQL run migrates its own empty database in conftest")
def test_upgrade_from_empty_sqlite_matches_models(tmp_path, redis_server):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_server.url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        assert "users" in inspect(db.engine).get_table_names()


def test_migrated_database_matches_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
