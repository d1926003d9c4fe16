"""`flask backup FILE` and `flask restore FILE`: the database and the export folder in one file.

The file is a gzipped tar holding `manifest.json` (database kind, Alembic revision, row
counts), the database (SQLite's online backup API: a consistent copy while the app runs;
PostgreSQL's `pg_dump -Fc`), `exports/` (EXPORT_DIR) and `attachments/` (ATTACHMENT_DIR,
the call-back requests' paper forms). Helpline stores no other files:
mail is in the database (outbox), and sessions are in the
database. Restore refuses a database that holds any row unless told --force.
"""
from __future__ import annotations

import glob
import gzip
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask, current_app, g
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL

from .extensions import db

FORMAT = 1


class BackupError(click.ClickException):
    """A backup or restore that cannot go ahead; the message says why."""


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: PG_BIN_DIR, else the newest Debian install, else PATH."""
    configured = os.environ.get("PG_BIN_DIR")
    if configured:
        return str(Path(configured) / name)
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return found[-1]  # newest: pg_dump must be at least the server's version
    on_path = shutil.which(name)
    if not on_path:
        raise BackupError(f"{name} not found: install postgresql-client or set PG_BIN_DIR")
    return on_path


def _libpq(url: URL) -> tuple[str, dict]:
    """A libpq URI without the password (that goes in PGPASSWORD, not the process list)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def row_counts() -> dict[str, int]:
    """Rows in every table the app knows (and Alembic's), by table name."""
    names = set(inspect(db.engine).get_table_names())
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) or 0
            for t in db.metadata.sorted_tables if t.name in names}


def _revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # no alembic_version table: an empty database
        db.session.rollback()
        return None


def _sqlite_path(url: URL) -> str:
    """The file of a SQLite database; an in-memory one (no file) cannot be copied."""
    if url.database is None:
        raise BackupError("This SQLite database is in memory: there is no file to back up "
                          "or restore. Nothing was changed.")
    return url.database


def _dump_database(work: Path) -> str:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        target = work / "database.sqlite3"
        source = sqlite3.connect(_sqlite_path(url))
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)  # a consistent copy, even while others write
        finally:
            dest.close()
            source.close()
        return target.name
    uri, env = _libpq(url)
    target = work / "database.pgdump"
    result = subprocess.run([pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges",
                             "-f", str(target), uri], env=env, capture_output=True, text=True)
    if result.returncode:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return target.name


def backup(path: Path) -> dict:
    """Write the backup file; returns its manifest."""
    export_dir = Path(current_app.config["EXPORT_DIR"])
    manifest = {"format": FORMAT, "database": db.engine.url.get_backend_name(),
                "revision": _revision(), "tables": row_counts(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    db.session.rollback()  # no transaction held open while the copy runs
    with tempfile.TemporaryDirectory(prefix="helpline-backup-") as tmp:
        manifest["file"] = _dump_database(Path(tmp))
        partial = path.with_name(path.name + ".part")
        partial.unlink(missing_ok=True)
        partial.touch(mode=0o600)  # private from the first byte: it holds everyone's records
        try:
            _write_archive(partial, tmp, manifest, export_dir)
        except BaseException:
            partial.unlink(missing_ok=True)  # never a stray half-written file
            raise
        partial.chmod(0o600)
        partial.replace(path)  # never a half-written file under the real name
    return manifest


def _write_archive(partial: Path, tmp: str, manifest: dict, export_dir: Path) -> None:
    """The manifest, the database dump, the export files and the paper forms."""
    with tarfile.open(partial, "w:gz") as tar:
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(data), int(datetime.now().timestamp())
        tar.addfile(info, io.BytesIO(data))
        tar.add(Path(tmp) / manifest["file"], arcname=manifest["file"])
        if export_dir.is_dir():
            tar.add(export_dir, arcname="exports")
        attachments = Path(current_app.config["ATTACHMENT_DIR"])
        if attachments.is_dir():  # completed paper forms of call-back requests
            tar.add(attachments, arcname="attachments")


def _check_empty(force: bool) -> None:
    counts = {k: v for k, v in row_counts().items() if v}
    db.session.rollback()
    if counts and not force:
        biggest = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(),
                                                         key=lambda kv: -kv[1])[:5])
        raise BackupError(f"The database is not empty ({biggest}, ...): restoring would "
                          "replace everything in it. Use --force to do that.")


def _load_sqlite(dump: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    source = sqlite3.connect(dump)
    dest = sqlite3.connect(_sqlite_path(db.engine.url), timeout=30)
    try:
        source.backup(dest)  # replaces the whole database, schema included
    finally:
        dest.close()
        source.close()


_KEPT_SCHEMA = "helpline_before_restore"


def _load_postgresql(dump: Path) -> None:
    """Restore into a fresh `public` schema; the current one is kept aside (renamed) until
    pg_restore has finished in one transaction, and put back if it fails, so a dump that
    breaks half-way leaves the database as it was."""
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {_KEPT_SCHEMA} CASCADE"))
        conn.execute(text(f"ALTER SCHEMA public RENAME TO {_KEPT_SCHEMA}"))
        conn.execute(text("CREATE SCHEMA public"))
    db.engine.dispose()
    uri, env = _libpq(db.engine.url)
    result = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges",
                             "--exit-on-error", "--single-transaction", "-d", uri, str(dump)],
                            env=env, capture_output=True, text=True)
    with db.engine.begin() as conn:
        if result.returncode:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text(f"ALTER SCHEMA {_KEPT_SCHEMA} RENAME TO public"))
        else:
            conn.execute(text(f"DROP SCHEMA {_KEPT_SCHEMA} CASCADE"))
    db.engine.dispose()
    if result.returncode:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}. Nothing was "
                          "changed.")


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        manifest_file = tar.extractfile("manifest.json")
        manifest = json.load(manifest_file) if manifest_file is not None else None
    except (KeyError, ValueError):
        manifest = None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"The backup is damaged or cut short: {exc}. Nothing was "
                          "changed.") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("file"), str):
        raise BackupError("This is not a Helpline backup: it has no readable manifest.json. "
                          "Nothing was changed.")
    name = manifest["file"]
    try:
        members = tar.getmembers()  # reads to the end: a cut-short archive fails here
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"The backup is damaged or cut short: {exc}. Nothing was "
                          "changed.") from exc
    member = next((m for m in members if m.name == name), None)
    if "/" in name or "\\" in name or name in ("", ".", "..") or member is None \
            or not member.isfile():
        raise BackupError(f"The backup's manifest names a database file ({name!r}) that is "
                          "not in the backup. Nothing was changed.")
    return manifest


def _check_dump(kind: str, dump: Path) -> None:
    """Refuse a dump that cannot be restored, before anything is replaced."""
    if kind == "sqlite":
        try:
            con = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                has_schema = con.execute("SELECT count(*) FROM sqlite_master WHERE type = "
                                         "'table' AND name = 'alembic_version'").fetchone()[0]
            finally:
                con.close()
        except sqlite3.DatabaseError:
            ok = has_schema = False
        if not (ok and has_schema):
            raise BackupError("The backup's database file is damaged or is not a Helpline "
                              "database. Nothing was changed.")
        return
    uri, env = _libpq(db.engine.url)
    listed = subprocess.run([pg_tool("pg_restore"), "--list", str(dump)], env=env,
                            capture_output=True, text=True)
    if listed.returncode or "alembic_version" not in listed.stdout:
        raise BackupError("The backup's database dump is damaged or is not a Helpline "
                          f"database ({listed.stderr.strip()[:200]}). Nothing was changed.")


def restore(path: Path, force: bool = False) -> dict:
    """Replace the database and add the backed-up export files; returns the manifest.
    Everything is checked (archive, manifest, dump) before the database is touched."""
    try:
        with gzip.open(path, "rb") as whole:  # checks the gzip CRC and length to the end
            while whole.read(1 << 20):
                pass
        tar = tarfile.open(path, "r:gz")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{path} is not a readable backup (.tar.gz): {exc}. Nothing was "
                          "changed.") from exc
    with tar, tempfile.TemporaryDirectory(prefix="helpline-restore-") as tmp:
        manifest = _read_manifest(tar)
        kind = db.engine.url.get_backend_name()
        if manifest.get("database") != kind:
            raise BackupError(f"This backup is of a {manifest.get('database')} database; "
                              f"DATABASE_URL points at {kind}.")
        _check_empty(force)
        try:
            tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"The backup is damaged or cut short: {exc}. Nothing was "
                              "changed.") from exc
        dump = Path(tmp) / manifest["file"]
        _check_dump(kind, dump)
        (_load_sqlite if kind == "sqlite" else _load_postgresql)(dump)
        exports = Path(tmp) / "exports"
        if exports.is_dir():
            shutil.copytree(exports, current_app.config["EXPORT_DIR"], dirs_exist_ok=True)
        attachments = Path(tmp) / "attachments"
        if attachments.is_dir():
            shutil.copytree(attachments, current_app.config["ATTACHMENT_DIR"],
                            dirs_exist_ok=True)
    return manifest


def register_backup_cli(app: Flask) -> None:
    """`flask backup FILE`, `flask restore FILE [--force]`, and a backup before `db upgrade`."""
    register_upgrade_backup(app)

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(file: Path) -> None:
        """Back up the database and the export folder into FILE (a .tar.gz)."""
        manifest = backup(file)
        rows = sum(manifest["tables"].values())
        click.echo(f"Backed up {manifest['database']} at revision {manifest['revision']} "
                   f"({len(manifest['tables'])} tables, {rows} rows) to {file}")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Replace a database that is not empty")
    def restore_command(file: Path, force: bool) -> None:
        """Restore the database and the export folder from FILE."""
        manifest = restore(file, force=force)
        click.echo(f"Restored {manifest['database']} backup of {manifest['created']} "
                   f"(revision {manifest['revision']}). If this version of Helpline is "
                   "newer, run `flask --app app db upgrade` next.")


def _pending_upgrade(directory: str | None) -> bool:
    """Whether the database is at a revision other than the migrations' heads."""
    from alembic.script import ScriptDirectory
    config = current_app.extensions["migrate"].migrate.get_config(directory)
    heads = set(ScriptDirectory.from_config(config).get_heads())
    current = _revision()
    db.session.rollback()
    return current not in heads


def backup_before_upgrade(directory: str | None = None) -> Path | None:
    """Back up into BACKUP_DIR before `db upgrade` changes a database that holds rows and
    is not at head already; returns the file, or None when there was nothing to keep."""
    if _revision() is None or not any(row_counts().values()) or \
            not _pending_upgrade(directory):
        db.session.rollback()
        return None
    folder = Path(current_app.config["BACKUP_DIR"])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"before-upgrade-{stamp}.tar.gz"
    backup(path)
    return path


def register_upgrade_backup(app: Flask) -> None:
    """`flask db upgrade` takes a backup first (see backup_before_upgrade); `--no-backup` or
    BACKUP_BEFORE_UPGRADE=0 skips it, and `--sql` (offline) never takes one.

    Flask-Migrate adds its `db` group to app.cli; this app gets a copy of that group whose
    `upgrade` has the same options plus --no-backup and then calls Flask-Migrate's own
    callback (the shared group itself is left alone)."""
    from flask.cli import with_appcontext
    original_group = app.cli.commands.get("db")
    if not isinstance(original_group, click.Group) or "upgrade" not in original_group.commands:
        return
    original = original_group.commands["upgrade"]
    upgrade_callback = original.callback
    if upgrade_callback is None:
        return

    @with_appcontext
    def callback(no_backup: bool, **kwargs):
        skip = no_backup or kwargs.get("sql") or \
            not current_app.config.get("BACKUP_BEFORE_UPGRADE", True)
        if not skip:
            path = backup_before_upgrade(kwargs.get("directory") or
                                         getattr(g, "directory", None))
            if path is not None:
                click.echo(f"Backed up the database to {path} before upgrading "
                           "(--no-backup skips this).")
        return click.get_current_context().invoke(upgrade_callback, **kwargs)

    upgrade = click.Command(
        original.name, callback=callback, help=original.help,
        short_help=original.short_help,
        params=[*original.params, click.Option(
            ["--no-backup"], is_flag=True,
            help="Do not back up a database with rows into BACKUP_DIR first")])
    group = click.Group(original_group.name, callback=original_group.callback,
                        params=original_group.params, help=original_group.help,
                        commands={**original_group.commands, "upgrade": upgrade})
    app.cli.add_command(group, "db")
