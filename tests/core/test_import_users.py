"""`flask import-users`: 200 staff with three bad rows → 197 users, the three lines named."""
from __future__ import annotations

import csv

from sqlalchemy import func, select

from helpline.auth.models import User
from werkzeug.security import check_password_hash
from helpline.extensions import db
from tests.factories import make_user

ROLES = ["volunteer", "Volunteer", "supervisor", "Data team", "admin"]


def _write(path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "Email", "Role", "Team"])
        writer.writerows(rows)


def _staff(n: int = 200) -> list[list[str]]:
    return [[f"Staff Member {i}", f"staff{i}@example.org", ROLES[i % len(ROLES)],
             ["Information Officers", "Welsh Language Line", ""][i % 3]] for i in range(n)]


def test_two_hundred_staff_with_three_bad_rows(app, runner, tmp_path):
    make_user("admin", email="already@example.org")
    rows = _staff()
    rows[9][1] = "not-an-email"            # line 11 (the header is line 1)
    rows[99][2] = "manager"                # line 101
    rows[149][1] = "Already@Example.org"   # line 151: exists already
    path = tmp_path / "staff.csv"
    _write(path, rows)

    dry = runner.invoke(args=["import-users", "--dry-run", str(path)])
    assert dry.exit_code == 1 and "Would create 197 user(s); 3 row(s) with errors" in dry.output
    assert db.session.scalar(select(func.count(User.id))) == 1

    result = runner.invoke(args=["import-users", str(path)])
    assert result.exit_code == 1
    assert "Created 197 user(s); 3 row(s) with errors (not imported)" in result.output
    assert "Line 11: 'not-an-email' is not an email address" in result.output
    assert "Line 101: role 'manager' is not one of volunteer, supervisor, data, admin" in (
        result.output)
    assert "Line 151: a user with the email already@example.org already exists" in (
        result.output)
    assert db.session.scalar(select(func.count(User.id))) == 198
    user = db.session.scalar(select(User).where(User.email == "staff3@example.org"))
    assert user.role == "data" and [t.name for t in user.teams] == ["Information Officers"]
    password = next(ln.split("\t")[1] for ln in result.output.splitlines()
                    if ln.startswith("staff3@example.org\t"))
    assert check_password_hash(user.password_hash, password)
    # printed in clear, so temporary: its owner chooses their own at first sign-in
    assert user.password_must_change is True
    assert not db.session.scalar(select(User).where(User.email == "staff9@example.org"))


def test_duplicate_in_the_file_and_mail_option(app, runner, tmp_path):
    from helpline.mailer import OutboxMail
    path = tmp_path / "staff.csv"
    _write(path, [["Ann One", "ann@example.org", "volunteer", ""],
                  ["Ann Again", "ANN@example.org", "volunteer", ""],
                  ["", "nobody@example.org", "volunteer", ""]])
    result = runner.invoke(args=["import-users", "--mail", str(path)])
    assert "Line 3: the email ann@example.org is also on line 2" in result.output
    assert "Line 4: the name is empty" in result.output
    mails = db.session.scalars(select(OutboxMail)).all()
    assert [m.to for m in mails] == ["ann@example.org"] and "temporary password" in mails[0].body
    assert "ann@example.org\t" not in result.output  # mailed, not printed


def test_hostile_or_odd_files_name_their_lines_and_import_the_rest(app, runner, tmp_path):
    """Break finding: long values were stored (or crashed PostgreSQL after a clean dry
    run), a Windows "CSV" save or a huge cell gave a traceback, control characters were
    kept in names."""
    path = tmp_path / "staff.csv"
    _write(path, [["A" * 500, "long@example.org", "volunteer", ""],
                  ["Bell\x07 Name", "bell@example.org", "volunteer", "Night\nShift"],
                  ["Huge", "huge@example.org", "volunteer", "x" * 200_000],
                  ["Zoë Good", "zoe@example.org", "supervisor", "Day Shift"]])
    result = runner.invoke(args=["import-users", str(path)])
    assert "Traceback" not in result.output
    assert "Line 2: the name is longer than 120 characters" in result.output
    assert "Line 5: cannot be read" in result.output  # after the two-line row 3–4
    bell = db.session.scalar(select(User).where(User.email == "bell@example.org"))
    assert bell.name == "Bell Name" and [t.name for t in bell.teams] == ["Night Shift"]
    assert db.session.scalar(select(User).where(User.email == "zoe@example.org")) is not None
    assert db.session.scalar(select(User).where(User.email == "long@example.org")) is None

    windows = tmp_path / "windows.csv"  # Excel's plain "CSV" on Windows: cp1252
    windows.write_bytes("Name,Email,Role,Team\r\nRené Côté,rene@example.org,volunteer,\r\n"
                        .encode("cp1252"))
    assert runner.invoke(args=["import-users", str(windows)]).exit_code == 0
    assert db.session.scalar(select(User.name).where(User.email == "rene@example.org")) == \
        "René Côté"
