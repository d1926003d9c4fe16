"""Migration f15a0000b001 splits the old mixed case status into the service desk's status
and the data team's review state, carrying every existing case over; downgrade folds them
back. On SQLite here; on PostgreSQL when TEST_DATABASE_URL is set (a database of its own,
like tests/core/test_migration_settings.py)."""
import os

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from helpline import create_app
from helpline.extensions import db
from tests.conftest import ROOT

BEFORE = "e18a0a0a0001"
# (title, old status, reviewed_at set, updated_since_review) → (status, review state)
CASES = [
    ("open never reviewed", "Open", False, False, "Open", "Not ready"),
    ("ready", "Ready for review", False, False, "Open", "Ready for review"),
    ("ready again", "Ready for review", True, True, "Open", "Ready for review"),
    ("reviewed", "Reviewed", True, False, "Open", "Accepted"),
    ("reviewed then changed", "Reviewed", True, True, "Open", "Ready for review"),
    ("sent back", "Sent back", True, False, "Open", "Sent back"),
    ("assigned never reviewed", "Assigned", False, False, "Assigned", "Not ready"),
    ("acknowledged reviewed", "Acknowledged", True, False, "Acknowledged", "Accepted"),
    ("solved reviewed", "Solved", True, False, "Solved", "Accepted"),
    # changed since its review and then taken out of the queue by a desk action (the bug
    # this migration ends): it goes back in front of the data team
    ("solved changed since review", "Solved", True, True, "Solved", "Ready for review"),
    ("closed", "Closed", False, False, "Closed", "Not ready"),
]


def _database(tmp_path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'review_state.db'}"
    url = make_url(base)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS helpline_review_state_test"))
        conn.execute(text("CREATE DATABASE helpline_review_state_test"))
    engine.dispose()
    return url.set(database="helpline_review_state_test").render_as_string(hide_password=False)


def _cases() -> dict[str, tuple[str, str]]:
    with db.engine.connect() as conn:
        return {r.title: (r.status, r.review_state) for r in conn.execute(
            text("SELECT title, status, review_state FROM cases"))}


def test_the_old_status_is_split_into_status_and_review_state(tmp_path, redis_server):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database(tmp_path),
                      "REDIS_URL": redis_server.url})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO contacts (id, postcode_area, region, consent_status,"
                " consent_given_by, active, created_at, updated_at, first_key, last_key,"
                " full_key, phone_key, postcode_key) VALUES (1, 'B', 'West Midlands',"
                " 'Consent not requested', 'The Caller for themselves', true, '2026-01-01',"
                " '2026-01-01', '', '', '', '', '')"))
            for i, (title, status, reviewed, since, *_) in enumerate(CASES, start=1):
                conn.execute(text(
                    "INSERT INTO cases (id, title, caller_id, who_requires_support,"
                    " psychosocial_support, safeguarding_activated, status,"
                    " updated_since_review, reviewed_at, created_at, updated_at, version)"
                    " VALUES (:id, :title, 1, 'The person who called', false, false, :status,"
                    " :since, :reviewed, '2026-01-01', '2026-01-01', 1)"),
                    {"id": i, "title": title, "status": status, "since": since,
                     "reviewed": "2026-02-01" if reviewed else None})
        db.session.remove()

        upgrade(directory=migrations, revision="f15a0000b001")
        assert _cases() == {title: (status, state)
                            for title, *_, status, state in CASES}
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("cases")}
        assert {"ix_cases_review_state", "ix_cases_assignee_id"} <= indexes

        downgrade(directory=migrations, revision=BEFORE)
        with db.engine.connect() as conn:
            back = dict(conn.execute(text("SELECT title, status FROM cases")).all())
        assert "review_state" not in {c["name"] for c in inspect(db.engine).get_columns("cases")}
        # an Open case takes back its review word; a desk status wins (the old column held one)
        assert back == {"open never reviewed": "Open", "ready": "Ready for review",
                        "ready again": "Ready for review", "reviewed": "Reviewed",
                        "reviewed then changed": "Ready for review", "sent back": "Sent back",
                        "assigned never reviewed": "Assigned",
                        "acknowledged reviewed": "Acknowledged", "solved reviewed": "Solved",
                        "solved changed since review": "Solved",
                        "closed": "Closed"}
        upgrade(directory=migrations)  # and up again
        assert _cases()["reviewed"] == ("Open", "Accepted")
        db.session.remove()
        db.engine.dispose()
