"""Must show 5: a safe production start."""
import os
import subprocess
import sys

from sqlalchemy import func, select

from helpline.auth.models import User
from helpline.extensions import db
from helpline.lookups.models import LookupItem
from tests.conftest import ROOT, AuthActions


def _flask(*args, **env):
    full = {**os.environ, "SECRET_KEY": "x" * 40, **env}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=full, capture_output=True, text=True, timeout=60)


def test_a_mistyped_environment_refuses_to_start():
    result = _flask("routes", HELPLINE_ENV="prod")
    assert result.returncode != 0
    assert "HELPLINE_ENV must be 'development' or 'production', not 'prod'" in result.stderr


def test_production_and_development_start(tmp_path):
    for env in ("production", "development"):
        result = _flask("routes", HELPLINE_ENV=env,
                        DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
        assert result.returncode == 0, result.stderr


def test_seed_demo_refuses_in_production(app, runner):
    app.config["PRODUCTION"] = True
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run with HELPLINE_ENV=production" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_setup_creates_the_lists_and_one_admin_who_must_set_up_two_factor(app, runner,
                                                                          client):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("supervisor", "data", "admin")
    app.config["PRODUCTION"] = True
    result = runner.invoke(args=["setup"], input="boss@example.org\nSam Boss\n"
                           "sunlit harbour engine\nsunlit harbour engine\n")
    assert result.exit_code == 0, result.output
    users = list(db.session.scalars(select(User)))
    assert [(u.email, u.role) for u in users] == [("boss@example.org", "admin")]
    from helpline.demo import LOOKUPS
    for list_name, names in LOOKUPS.items():
        have = set(db.session.scalars(select(LookupItem.name).where(
            LookupItem.list_name == list_name)))
        assert set(names) <= have, list_name
    resp = AuthActions(client).login("boss@example.org", "sunlit harbour engine")
    assert resp.headers["Location"].startswith("/login/two-factor/set-up")
    again = runner.invoke(args=["setup"], input="x@example.org\nX\nsunlit harbour engine\n"
                          "sunlit harbour engine\n")
    assert again.exit_code != 0 and "already has users" in again.output


def test_setup_refuses_a_weak_password(runner):
    result = runner.invoke(args=["setup"], input="boss@example.org\nSam Boss\n"
                           "Password1234!\nPassword1234!\n")
    assert result.exit_code != 0 and "too common" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert db.session.scalar(select(func.count(LookupItem.id))) == 0
