"""The app factory reads its settings from the environment."""
import pytest

from helpline import create_app
from helpline.config import ConfigError, from_environment


def test_test_config_overrides(app):
    assert app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"]


def test_defaults_are_the_embedded_services(monkeypatch, tmp_path):
    for var in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "PORT"):
        monkeypatch.delenv(var, raising=False)
    cfg = from_environment(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'helpline.db'}"
    assert cfg["REDIS_URL"].startswith("redis://127.0.0.1:")
    assert cfg["MAIL_SERVER"] == "127.0.0.1"
    assert cfg["PORT"] == 8000
    assert cfg["IDLE_TIMEOUT_MINUTES"] == 30


def test_environment_points_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example/helpline")
    monkeypatch.setenv("REDIS_URL", "redis://redis.example:6379/2")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Helpline <no-reply@example.org>")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("IDLE_TIMEOUT_MINUTES", "10")
    cfg = from_environment(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.example/helpline"
    assert cfg["REDIS_URL"] == "redis://redis.example:6379/2"
    assert (cfg["MAIL_SERVER"], cfg["MAIL_PORT"]) == ("smtp.example", 587)
    assert cfg["MAIL_DEFAULT_SENDER"] == "Helpline <no-reply@example.org>"
    assert cfg["PORT"] == 9000
    assert cfg["IDLE_TIMEOUT_MINUTES"] == 10


def test_secret_key_is_generated_once_into_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = from_environment(str(tmp_path))["SECRET_KEY"]
    second = from_environment(str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("HELPLINE_ENV", "production")
    with pytest.raises(ConfigError):
        from_environment(str(tmp_path))


def test_production_uses_secure_cookies(monkeypatch):
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    assert create_app().config["SESSION_COOKIE_SECURE"] is True


def test_a_typo_in_the_two_factor_roles_refuses_to_start(monkeypatch, tmp_path):
    """Review finding: "supervisors, admins" silently required two-factor for nobody."""
    monkeypatch.setenv("TWO_FACTOR_REQUIRED_ROLES", "supervisors, admins")
    with pytest.raises(ConfigError, match="unknown role"):
        from_environment(str(tmp_path))
    monkeypatch.setenv("TWO_FACTOR_REQUIRED_ROLES", "Supervisor, data,admin")
    assert from_environment(str(tmp_path))["TWO_FACTOR_REQUIRED_ROLES"] == (
        "supervisor", "data", "admin")


def test_production_refuses_the_placeholder_or_a_short_secret_key(monkeypatch, tmp_path):
    """Break finding: SECRET_KEY=change-me from the env template was accepted."""
    monkeypatch.setenv("HELPLINE_ENV", "production")
    for weak in ("change-me", "short-key", "change-me-" + "x" * 40):
        monkeypatch.setenv("SECRET_KEY", weak)
        with pytest.raises(ConfigError, match="placeholder or shorter than 32"):
            from_environment(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    assert from_environment(str(tmp_path))["SECRET_KEY"] == "k" * 48
