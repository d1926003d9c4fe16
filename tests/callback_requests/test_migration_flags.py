"""Migration c14b0b0b0001 flags the list items a database already has, by the names they
have then (once); from then on the flag decides."""
import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from helpline import create_app
from helpline.extensions import db
from tests.conftest import ROOT


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="the PostgreSQL run migrates its own empty database in conftest")
def test_existing_items_are_flagged_by_their_names_once(tmp_path, redis_server):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_server.url})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="a339664c5b9d")
        with db.engine.begin() as conn:
            for list_name, name in [("call_result", "Signposted to CM Options"),
                                    ("call_result", "Signposted to other options"),
                                    ("call_result", "Contact made"),
                                    ("call_result", "Called contact not made"),
                                    ("out_of_remit_reason", "Complaint about our response"),
                                    ("out_of_remit_reason", "Wrong number")]:
                conn.execute(text("INSERT INTO lookup_items (list_name, name, position, retired)"
                                  " VALUES (:l, :n, 0, 0)"), {"l": list_name, "n": name})
        upgrade(directory=migrations, revision="c14b0b0b0001")
        with db.engine.connect() as conn:
            rows = {r.name: (r.counts_as_success, r.counts_as_complaint) for r in conn.execute(
                text("SELECT name, counts_as_success, counts_as_complaint FROM lookup_items"))}
        assert rows == {"Signposted to CM Options": (1, 0), "Signposted to other options": (1, 0),
                        "Contact made": (1, 0), "Called contact not made": (0, 0),
                        "Complaint about our response": (0, 1), "Wrong number": (0, 0)}
        downgrade(directory=migrations, revision="a339664c5b9d")  # and back down cleanly
        db.engine.dispose()
