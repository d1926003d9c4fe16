"""commit_change: commits a service's work, or rolls it back and puts the message where the
user sees it — at its field, or (a field the form does not have) as a flashed message."""
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from helpline.auth.models import Team
from helpline.extensions import db
from helpline.rules import RuleError, commit_change


class _Form(FlaskForm):
    name = StringField("Name")


def _add_team_then_refuse(field):
    db.session.add(Team(name="Rolled back"))
    db.session.flush()
    raise RuleError("That will not do", field=field)


def _teams():
    return db.session.scalar(select(func.count()).select_from(Team))


def test_a_refusal_is_rolled_back_and_shown_at_its_field_or_flashed(app):
    before = _teams()
    with app.test_request_context(method="POST"):
        form = _Form(meta={"csrf": False})
        done = commit_change(_add_team_then_refuse, "name", form=form)
        assert not done and form.name.errors == ["That will not do"]
        assert get_flashed_messages() == []
    with app.test_request_context(method="POST"):
        form = _Form(meta={"csrf": False})
        lost = commit_change(_add_team_then_refuse, "no_such_field", form=form)
        assert not lost and get_flashed_messages(with_categories=True) == [
            ("error", "That will not do")]
    assert _teams() == before


def test_work_that_keeps_the_rules_is_committed(app):
    with app.test_request_context(method="POST"):
        done = commit_change(lambda: db.session.add(Team(name="Kept")) or "ok")
        assert done and done.value == "ok"
    db.session.rollback()
    assert db.session.scalar(select(Team.id).where(Team.name == "Kept")) is not None
