"""training-reset wipes a database and two folders: it must never be the live ones,
whatever TRAINING_DATABASE_URL or the folder settings say (review findings H1, H2)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select

from helpline import ROOT, create_app
from helpline.auth.models import User
from helpline.contacts.models import Contact
from helpline.extensions import db
from helpline.training.scenarios import same_database
from tests.contacts.helpers import make_contact
from tests.factories import make_user
from tests.training.test_training_site import _cli, _contact, _reset

INSTANCE = str(ROOT / "instance")


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(User.id))),
            db.session.scalar(select(func.count(Contact.id))))


def _other_spellings(database_url: str) -> list[str]:
    """The live database named another way: a relative SQLite path (relative to the
    instance folder), or the PostgreSQL host as localhost."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        relative = os.path.relpath(url.database, INSTANCE)
        return [database_url, f"sqlite:///{relative}"]
    return [database_url, url.set(host="localhost").render_as_string(hide_password=False)]


@pytest.mark.parametrize("form", [0, 1])
def test_training_reset_refuses_the_live_database(app, monkeypatch, database_url,
                                                  redis_server, smtp, form):
    volunteer = make_user("volunteer")
    make_contact(volunteer, first_name="Real", last_name="Caller")
    db.session.commit()
    before = _counts()
    monkeypatch.setenv("HELPLINE_MODE", "training")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRAINING_DATABASE_URL", _other_spellings(database_url)[form])
    training = create_app({"TESTING": True, "REDIS_URL": redis_server.url,
                           "MAIL_CATCHER_PORT": smtp["port"], "MAIL_CATCHER_DIR": smtp["dir"]})
    try:
        result = _cli(training, "training-reset")
    finally:
        with training.app_context():
            db.engine.dispose()
    assert result.exit_code != 0
    assert "names the live site's database" in result.output
    assert "Nothing was deleted" in result.output
    assert _counts() == before
    assert _contact("Real", "Caller") is not None and _contact("Harold", "Penrose") is None


def test_the_default_live_database_is_recognised_in_any_spelling():
    live = f"sqlite:///{Path(INSTANCE) / 'helpline.db'}"
    assert same_database("sqlite:///helpline.db", live, INSTANCE)
    assert same_database("sqlite:///./training/../helpline.db", live, INSTANCE)
    assert not same_database("sqlite:///training.db", live, INSTANCE)
    assert same_database("postgresql+psycopg://hl@127.0.0.1/helpline",
                         "postgresql://hl:secret@localhost/helpline", INSTANCE)
    assert not same_database("postgresql://hl@db/helpline_training",
                             "postgresql://hl@db/helpline", INSTANCE)


def test_training_reset_refuses_a_database_it_never_loaded(app, training_app):
    """A database with records and no training mark (a copy of DATABASE_URL, an old
    live database) is never wiped."""
    volunteer = make_user("volunteer")
    make_contact(volunteer, first_name="Real", last_name="Caller")
    db.session.commit()
    before = _counts()
    result = _cli(training_app, "training-reset")
    assert result.exit_code != 0
    assert "never loaded by training-reset" in result.output
    assert _counts() == before and _contact("Harold", "Penrose") is None


def test_training_reset_never_removes_a_folder_outside_the_training_files(
        app, training_app, tmp_path):
    live_exports = tmp_path / "live-exports"
    live_exports.mkdir()
    (live_exports / "helpline-export-1.csv").write_text("a live export")
    training_app.config["EXPORT_DIR"] = str(live_exports)
    result = _cli(training_app, "training-reset")
    assert result.exit_code != 0
    assert "EXPORT_DIR" in result.output and "not inside the training files folder" \
        in result.output
    assert (live_exports / "helpline-export-1.csv").read_text() == "a live export"
    assert _contact("Harold", "Penrose") is None

    # inside the training files folder: the practice exports go, the reset runs
    inside = Path(training_app.config["TRAINING_FILES_DIR"]) / "exports"
    inside.mkdir(parents=True)
    (inside / "practice.csv").write_text("practice")
    training_app.config["EXPORT_DIR"] = str(inside)
    _reset(training_app)
    assert not (inside / "practice.csv").exists()
    assert (live_exports / "helpline-export-1.csv").exists()
