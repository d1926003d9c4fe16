"""Backup → wipe → restore gives the same rows, table by table (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), and the export folder back."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

from sqlalchemy import inspect, select, text

from helpline.demo import seed
from helpline.extensions import db
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of every table (and Alembic's version), in a stable order."""
    out = {}
    for table in [*db.metadata.sorted_tables]:
        rows = db.session.execute(select(table)).all()
        out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    out["alembic_version"] = [tuple(r) for r in db.session.execute(
        text("SELECT version_num FROM alembic_version"))]
    db.session.rollback()
    return out


def _wipe() -> None:
    """Not just empty: no tables at all, as on a new server."""
    db.session.remove()
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for name in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE "{name}"'))
    db.engine.dispose()


def test_backup_wipe_restore_gives_the_same_rows_and_files(app, runner, tmp_path):
    seed()
    db.session.commit()
    make_contact(make_user("volunteer"), first_name="Zoë", last_name="O'Brien-Ünal")
    export_dir = Path(app.config["EXPORT_DIR"])
    export_dir.mkdir(parents=True, exist_ok=True)
    (export_dir / "reviewed-cases.csv").write_text("case,status\nCA1,Reviewed\n")
    before = _snapshot()
    assert sum(map(len, before.values())) > 1000 and len(before["contacts"]) == 301

    file = tmp_path / "helpline-backup.tar.gz"
    result = runner.invoke(args=["backup", str(file)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    with tarfile.open(file) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "exports/reviewed-cases.csv" in names and manifest["tables"]["contacts"] == 301
    assert manifest["database"] == db.engine.dialect.name
    assert file.stat().st_mode & 0o077 == 0  # only its owner may read it

    refused = runner.invoke(args=["restore", str(file)])
    assert refused.exit_code != 0 and "not empty" in refused.output and "--force" in refused.output
    assert _snapshot() == before

    _wipe()
    (export_dir / "reviewed-cases.csv").unlink()
    result = runner.invoke(args=["restore", str(file)])
    assert result.exit_code == 0, result.output
    after = _snapshot()
    for name in before:  # table by table, so a failure names the table
        assert after[name] == before[name], name
    assert (export_dir / "reviewed-cases.csv").read_text() == "case,status\nCA1,Reviewed\n"


def test_restore_with_force_replaces_a_database_that_is_not_empty(app, runner, tmp_path):
    make_contact(make_user("volunteer"), last_name="Before")
    before = _snapshot()
    file = tmp_path / "b.tar.gz"
    assert runner.invoke(args=["backup", str(file)]).exit_code == 0
    make_contact(make_user("volunteer"), last_name="After")
    result = runner.invoke(args=["restore", "--force", str(file)])
    assert result.exit_code == 0, result.output
    assert _snapshot() == before
