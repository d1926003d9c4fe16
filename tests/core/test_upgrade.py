"""Upgrading a database with data, from the oldest migration that held callers' records
(contacts, cases and notes: 58e3207fbec6) to whatever head is present, keeps the data and
the app works on it. On SQLite, or on PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

import os
import re
from datetime import date, datetime

import pyotp

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from helpline import create_app
from helpline.auth.models import User
from helpline.auth.services import hash_password
from helpline.cases.models import Case
from helpline.contacts.models import Contact
from helpline.extensions import db
from tests.conftest import ROOT, FreshContextClient, csrf_token

OLDEST_WITH_DATA = "58e3207fbec6"
T0 = datetime(2025, 3, 4, 9, 30)


def _database(tmp_path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'old.db'}"
    url = make_url(base)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS helpline_upgrade_test"))
        conn.execute(text("CREATE DATABASE helpline_upgrade_test"))
    engine.dispose()
    return url.set(database="helpline_upgrade_test").render_as_string(hide_password=False)


def _old_rows(conn, pw_hash: str) -> None:
    """Rows written with the columns as they were at OLDEST_WITH_DATA."""
    run = lambda sql, **kw: conn.execute(text(sql), kw)  # noqa: E731
    run("INSERT INTO teams (id, name, created_at) VALUES (1, 'Information Officers', :t)", t=T0)
    run("INSERT INTO users (id, email, name, password_hash, role, frontline_operator, language,"
        " default_team_id, active, created_at) VALUES (1, 'old.admin@example.org',"
        " 'Olive Admin', :pw, 'admin', true, 'English', 1, true, :t)", pw=pw_hash, t=T0)
    run("INSERT INTO user_teams (user_id, team_id) VALUES (1, 1)")
    run("INSERT INTO lookup_items (id, list_name, name, position, retired) VALUES"
        " (1, 'signpost_category', 'Food bank', 1, false)")
    run("INSERT INTO outbox_mail (id, key, \"to\", subject, body, status, attempts, created_at,"
        " sent_at) VALUES (1, 'k1', 'old.admin@example.org', 'Hello', 'Body', 'sent', 1, :t,"
        " :t)", t=T0)
    run("INSERT INTO contacts (id, first_name, last_name, phone, postcode, postcode_area,"
        " region, date_of_birth, consent_status, consent_given_by, active, created_at,"
        " updated_at, created_by_id, first_key, last_key, full_key, phone_key, postcode_key)"
        " VALUES (1, 'Margaret', 'Oldfield', '07700 900777', 'B1 1AA', 'B', 'West Midlands',"
        " :dob, 'Consent given', 'The Caller for themselves', true, :t, :t, 1, 'margaret',"
        " 'oldfield', 'margaret oldfield', '07700900777', 'B11AA')", dob=date(1950, 5, 6), t=T0)
    run("INSERT INTO cases (id, title, caller_id, who_requires_support, psychosocial_support,"
        " safeguarding_activated, status, owner_id, team_id, updated_since_review, created_at,"
        " updated_at, created_by_id, version) VALUES (1, 'Shopping help', 1,"
        " 'The person who called', false, false, 'Open', 1, 1, false, :t, :t, 1, 1)", t=T0)
    run("INSERT INTO case_notes (id, case_id, author_id, at, text) VALUES"
        " (1, 1, 1, :t, 'Called about shopping; neighbour helps on Tuesdays')", t=T0)
    run("INSERT INTO contact_verifications (id, contact_id, user_id, details, at) VALUES"
        " (1, 1, 1, 'Date of birth', :t)", t=T0)


def test_upgrade_from_the_oldest_migration_with_data_keeps_it(tmp_path, redis_server, smtp):
    url = _database(tmp_path)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "REDIS_URL": redis_server.url, "MAIL_PORT": smtp["port"]})
    app.test_client_class = FreshContextClient
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision=OLDEST_WITH_DATA)
        with db.engine.begin() as conn:
            _old_rows(conn, hash_password("old password 123"))
        upgrade(directory=str(ROOT / "migrations"))  # to whatever head is present

        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        user = db.session.scalar(select(User).where(User.email == "old.admin@example.org"))
        assert user.name == "Olive Admin" and [t.name for t in user.teams] == [
            "Information Officers"]
        contact = db.session.get(Contact, 1)
        assert (contact.first_name, contact.last_name, contact.phone, contact.region) == (
            "Margaret", "Oldfield", "07700 900777", "West Midlands")
        assert contact.date_of_birth == date(1950, 5, 6)
        case = db.session.get(Case, 1)
        assert case.title == "Shopping help" and case.caller_id == 1
        assert [n.text for n in case.notes] == [
            "Called about shopping; neighbour helps on Tuesdays"]
        db.session.remove()

        client = app.test_client()
        token = csrf_token(client, "/login")
        resp = client.post("/login", data={"csrf_token": token, "email": "old.admin@example.org",
                                           "password": "old password 123"})
        # an administrator from before two-factor sign-in sets it up at their first sign-in
        assert resp.status_code == 302 and "/two-factor/set-up" in resp.headers["Location"]
        setup = client.get("/login/two-factor/set-up").get_data(as_text=True)
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup).group(1)
        done = client.post("/login/two-factor/set-up", data={
            "csrf_token": csrf_token(client, "/login/two-factor/set-up"),
            "code": pyotp.TOTP(secret).now()})
        assert done.status_code in (200, 302)
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert "neighbour helps on Tuesdays" in page and "Margaret" in page
        assert "Oldfield" in client.get("/?q=Oldfield").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
