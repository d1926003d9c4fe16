"""`flask db upgrade` (the real command, in a subprocess) backs a database with rows up into
BACKUP_DIR before upgrading it; --no-backup or BACKUP_BEFORE_UPGRADE=0 skips that, and an
empty or up-to-date database gets none. On SQLite, or PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from helpline import create_app
from helpline.auth.services import hash_password
from helpline.extensions import db
from tests.conftest import ROOT
from tests.core.test_upgrade import OLDEST_WITH_DATA, _database, _old_rows


def _old_database(tmp_path, redis_server, with_rows: bool = True) -> str:
    url = _database(tmp_path)
    if url.startswith("sqlite"):
        (tmp_path / "old.db").unlink(missing_ok=True)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "REDIS_URL": redis_server.url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision=OLDEST_WITH_DATA)
        if with_rows:
            with db.engine.begin() as conn:
                _old_rows(conn, hash_password("old password 123"))
        db.engine.dispose()
    return url


def _flask_db_upgrade(url: str, backups, *args: str, **env: str):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("BACKUP_BEFORE_UPGRADE", "TEST_DATABASE_URL")}
    environ.update(DATABASE_URL=url, BACKUP_DIR=str(backups), SECRET_KEY="x" * 40,
                   REDIS_URL="redis://127.0.0.1:1/0", **env)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade",
                             *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _revision(url: str, redis_server) -> str:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "REDIS_URL": redis_server.url})
    with app.app_context():
        rev = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.remove()
        db.engine.dispose()
    return rev


def test_upgrade_backs_up_a_database_with_rows_first(tmp_path, redis_server):
    url = _old_database(tmp_path, redis_server)
    backups = tmp_path / "backups"
    result = _flask_db_upgrade(url, backups)
    files = list(backups.iterdir())
    assert len(files) == 1 and files[0].name.startswith("before-upgrade-")
    assert f"Backed up the database to {files[0]}" in result.stdout
    assert files[0].stat().st_mode & 0o077 == 0
    with tarfile.open(files[0]) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    # the backup is of the database as it was: old revision, its rows
    assert manifest["revision"] == OLDEST_WITH_DATA
    assert manifest["tables"]["contacts"] == 1 and manifest["tables"]["case_notes"] == 1
    assert _revision(url, redis_server) != OLDEST_WITH_DATA

    # already at head: nothing to upgrade, so no second backup
    again = _flask_db_upgrade(url, backups)
    assert "Backed up" not in again.stdout and len(list(backups.iterdir())) == 1


@pytest.mark.parametrize("args, env", [(("--no-backup",), {}),
                                       ((), {"BACKUP_BEFORE_UPGRADE": "0"})])
def test_upgrade_without_a_backup_when_told(tmp_path, redis_server, args, env):
    url = _old_database(tmp_path, redis_server)
    backups = tmp_path / "backups"
    result = _flask_db_upgrade(url, backups, *args, **env)
    assert "Backed up" not in result.stdout and not backups.exists()
    assert _revision(url, redis_server) != OLDEST_WITH_DATA


def test_an_empty_database_is_not_backed_up(tmp_path, redis_server):
    url = _old_database(tmp_path, redis_server, with_rows=False)
    backups = tmp_path / "backups"
    result = _flask_db_upgrade(url, backups)
    assert "Backed up" not in result.stdout and not backups.exists()
    assert _revision(url, redis_server) != OLDEST_WITH_DATA
