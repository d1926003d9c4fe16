"""Migration f15a0000d001 carries today's referrals over: "Sent to local team" (set before
any review) → Awaiting review, unless the case was reviewed after the referral was made
(→ Sent, on the review's date);
Completed → Actioned; Declined keeps its reason; the free-text local team is kept. The
shipped Food and Medication extra fields stop being required; an admin's own field stays.
On SQLite here; on PostgreSQL when TEST_DATABASE_URL is set."""
import os
from datetime import datetime

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpline import create_app
from helpline.extensions import db
from tests.conftest import ROOT

BEFORE = "e18a0a0a0001"
T0, REVIEWED = datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 3, 10, 30)
AFTER = datetime(2026, 11, 4, 8, 0)  # a referral added to case 2 after its review


def _database(tmp_path) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'referrals.db'}"
    url = make_url(base)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS helpline_referrals_test"))
        conn.execute(text("CREATE DATABASE helpline_referrals_test"))
    engine.dispose()
    return url.set(database="helpline_referrals_test").render_as_string(hide_password=False)


def _old_rows(conn) -> None:
    run = lambda sql, **kw: conn.execute(text(sql), kw)  # noqa: E731
    run("INSERT INTO users (id, email, name, password_hash, role, frontline_operator, language,"
        " active, created_at, password_must_change) VALUES (1, 'a@x.org', 'A', 'h', 'admin',"
        " false, 'English', true, :t, false)", t=T0)
    run("INSERT INTO lookup_items (id, list_name, name, position, retired, counts_as_success,"
        " counts_as_complaint) VALUES (1, 'local_response_type', 'Food', 0, false, false, false),"
        " (2, 'local_response_type', 'Medication', 1, false, false, false)")
    run("INSERT INTO response_type_fields (id, response_type_id, name, kind, required, position)"
        " VALUES (1, 1, 'People in household', 'number', true, 0),"
        " (2, 2, 'Pharmacy', 'text', true, 0), (3, 1, 'Allergies', 'text', true, 1)")
    run("INSERT INTO contacts (id, first_name, last_name, postcode_area, region, consent_status,"
        " consent_given_by, active, created_at, updated_at) VALUES (1, 'Margaret', 'Oldfield',"
        " 'B', 'West Midlands', 'Consent given', 'The Caller for themselves', true, :t, :t)",
        t=T0)
    for case_id, reviewed in ((1, None), (2, REVIEWED)):
        run("INSERT INTO cases (id, title, caller_id, who_requires_support,"
            " psychosocial_support, safeguarding_activated, status, updated_since_review,"
            " created_at, updated_at, version, reviewed_at) VALUES (:id, 'Food', 1,"
            " 'The person who called', false, false, 'Open', false, :t, :t, 1, :r)",
            id=case_id, t=T0, r=reviewed)
    for ref_id, case_id, status, reason, made in ((1, 1, "Sent to local team", None, T0),
                                                  (2, 2, "Sent to local team", None, T0),
                                                  (3, 2, "Completed", None, T0),
                                                  (4, 1, "Declined", "Family helping", T0),
                                                  (5, 2, "Sent to local team", None, AFTER)):
        run("INSERT INTO case_referrals (id, case_id, response_type_id, status, declined_reason,"
            " local_team, extra, created_at) VALUES (:id, :c, 1, :s, :r,"
            " 'West Midlands local team', '{}', :t)", id=ref_id, c=case_id, s=status, r=reason,
            t=made)


def test_upgrade_carries_referrals_over_and_makes_shipped_fields_optional(tmp_path,
                                                                         redis_server):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database(tmp_path),
                      "REDIS_URL": redis_server.url})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision=BEFORE)
        with db.engine.begin() as conn:
            _old_rows(conn)
        upgrade(directory=migrations)
        with db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, status, sent_at, declined_reason, local_team FROM case_referrals"
                " ORDER BY id")).all()
            required = dict(conn.execute(text(
                "SELECT name, required FROM response_type_fields")).all())
        # 5 was added after the case's review: never passed on, so it waits for the next
        # accept (marked Sent, it would never be mailed)
        assert [(r[0], r[1]) for r in rows] == [(1, "Awaiting review"), (2, "Sent"),
                                                (3, "Actioned"), (4, "Declined"),
                                                (5, "Awaiting review")]
        assert rows[4][2] is None
        assert str(rows[1][2])[:16] == "2026-11-03 10:30"  # sent when it was reviewed
        assert rows[0][2] is None
        assert rows[3][3] == "Family helping"
        assert {r[4] for r in rows} == {"West Midlands local team"}  # kept for display
        assert {k: bool(v) for k, v in required.items()} == {
            "People in household": False, "Pharmacy": False, "Allergies": True}
        db.session.remove()

        downgrade(directory=migrations, revision=BEFORE)
        with db.engine.connect() as conn:
            statuses = conn.execute(text("SELECT status FROM case_referrals ORDER BY id"))
            assert statuses.scalars().all() == ["Sent to local team", "Sent to local team",
                                                "Completed", "Declined",
                                                "Sent to local team"]
        db.engine.dispose()
