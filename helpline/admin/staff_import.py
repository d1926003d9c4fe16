"""`flask import-users FILE.csv`: create staff accounts from a spreadsheet export.

Columns (a header row, any order, any case): name, email, role, team. Role is one of
volunteer, supervisor, data, admin (or their labels: Volunteer, Supervisor, Data team,
Administrator). Team is optional (created if new). Every row is checked first; a bad row
is reported by its line number and skipped, the others are created. Each new user gets a
temporary password, printed (or mailed with --mail through the outbox).
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from ..auth.models import ROLE_LABELS, ROLES, User
from ..auth.services import create_user, normalise_email
from ..extensions import db
from ..mail_texts import render_mail
from ..mailer import queue_mail
from ..rules import RuleError

REQUIRED = ("name", "email", "role")
_LABELS = {label.lower(): role for role, label in ROLE_LABELS.items()}


@dataclass
class StaffRow:
    """One line of the file, checked."""

    line: int
    name: str
    email: str
    role: str
    team: str | None


@dataclass
class ImportResult:
    """What an import did (or, dry run, would do)."""

    good: list[StaffRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    created: list[tuple[User, str]] = field(default_factory=list)  # (user, temp password)


def _role(value: str) -> str | None:
    value = (value or "").strip().lower()
    return value if value in ROLES else _LABELS.get(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LIMITS = {"name": 120, "email": 254, "team": 120}  # the columns' sizes


def _clean(value) -> str:
    """A cell as text on one line: control characters (a bell, a line break) removed."""
    return _CONTROL.sub(" ", value if isinstance(value, str) else "").strip()


def _check(line: int, raw: dict, seen: dict[str, int], existing: set[str]) -> StaffRow | str:
    """A checked row, or the reason it cannot be imported."""
    name = " ".join(_clean(raw.get("name")).split())
    email = normalise_email(_clean(raw.get("email")))
    role = _role(raw.get("role") or "")
    team = " ".join(_clean(raw.get("team")).split())
    for column, value in (("name", name), ("email", email), ("team", team)):
        if len(value) > LIMITS[column]:
            return f"the {column} is longer than {LIMITS[column]} characters"
    if not name:
        return "the name is empty"
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        return f"'{raw.get('email') or ''}' is not an email address"
    if role is None:
        return (f"role '{(raw.get('role') or '').strip()}' is not one of "
                f"{', '.join(ROLES)}")
    if email in existing:
        return f"a user with the email {email} already exists"
    if email in seen:
        return f"the email {email} is also on line {seen[email]}"
    seen[email] = line
    return StaffRow(line, name, email, role, team or None)


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without Excel's BOM), UTF-16 with a BOM, or the
    Windows encoding a plain "CSV" save from Excel uses."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise click.ClickException("The file's characters cannot be read: save it from the "
                               "spreadsheet as 'CSV UTF-8' and try again. Nothing was "
                               "imported.")


def read_rows(text: str) -> ImportResult:
    """Check every row of the CSV text; nothing is written."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff").replace("\x00", "")))
    reader.fieldnames = [(f or "").strip().lower() for f in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in reader.fieldnames]
    if missing:
        raise click.ClickException(f"The first line must name the columns name, email, role, "
                                   f"team; missing: {', '.join(missing)}")
    existing = set(db.session.scalars(select(func.lower(User.email))))
    result = ImportResult()
    seen: dict[str, int] = {}  # email → the line it is first on
    rows = iter(reader)
    while True:
        start = reader.line_num + 1  # a quoted cell may span lines: name the row's first
        try:
            raw = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell too large, a stray quote: name the line, go on
            result.errors.append((start, f"cannot be read ({exc})"))
            continue
        line = start
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # blank line
        checked = _check(line, raw, seen, existing)
        if isinstance(checked, str):
            result.errors.append((line, checked))
        else:
            result.good.append(checked)
    return result


def create_users(result: ImportResult, actor: User | None = None) -> None:
    """Create the good rows (the caller commits); a row refused now joins the errors."""
    for row in result.good:
        password = secrets.token_urlsafe(9)
        try:
            with db.session.begin_nested():
                # a password printed or mailed in clear is temporary: changed at first sign-in
                user = create_user(row.email, row.name, row.role, password, team=row.team,
                                   actor=actor, password_must_change=True)
        except RuleError as exc:
            result.errors.append((row.line, str(exc)))
            continue
        result.created.append((user, password))


def _mail(user: User, password: str) -> None:
    base = current_app.config["BASE_URL"]
    subject, body = render_mail("staff_account", user=user, password=password,
                                link=f"{base}/login")
    queue_mail(user.email, subject, body, key=f"staff-import-{user.id}")


def register_import_cli(app: Flask) -> None:
    """`flask import-users FILE.csv [--dry-run] [--mail]`."""

    @app.cli.command("import-users")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check every row, create nothing")
    @click.option("--mail", "send_mail", is_flag=True,
                  help="Mail each new user their temporary password instead of printing it")
    def import_users_command(file: Path, dry_run: bool, send_mail: bool) -> None:
        """Create staff accounts from a CSV file (name, email, role, team)."""
        result = read_rows(decode(file.read_bytes()))
        if not dry_run:
            create_users(result)
            for user, password in result.created:
                if send_mail:
                    _mail(user, password)
                else:
                    click.echo(f"{user.email}\t{password}")
            db.session.commit()
        for line, message in sorted(result.errors):
            click.echo(f"Line {line}: {message}", err=True)
        done = len(result.good) if dry_run else len(result.created)
        verb = "Would create" if dry_run else "Created"
        click.echo(f"{verb} {done} user(s); {len(result.errors)} row(s) with errors"
                   + (" (not imported)" if result.errors else "")
                   + ("; temporary passwords mailed" if send_mail and not dry_run else ""),
                   err=True)
        if result.errors:
            raise SystemExit(1)
