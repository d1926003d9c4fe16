"""HELPLINE_MODE: the training site never reads the live site's database or Redis (so
training-reset cannot wipe live records), keeps its own cookie and files, and a typo in
the mode stops the start instead of silently running live."""
import pytest

from helpline.config import ConfigError, from_environment


def test_training_mode_ignores_the_live_database_and_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://helpline@db.live/helpline")
    monkeypatch.setenv("REDIS_URL", "redis://redis.live:6379/0")
    monkeypatch.delenv("TRAINING_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRAINING_REDIS_URL", raising=False)
    live = from_environment(str(tmp_path))
    assert live["SQLALCHEMY_DATABASE_URI"].endswith("@db.live/helpline")
    assert not live["TRAINING"] and live["SESSION_COOKIE_NAME"] == "session"

    monkeypatch.setenv("HELPLINE_MODE", "training")
    training = from_environment(str(tmp_path))
    assert training["TRAINING"]
    assert training["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'training.db'}"
    assert "redis.live" not in training["REDIS_URL"]
    assert training["SESSION_COOKIE_NAME"] != "session"
    assert training["EXPORT_DIR"] == str(tmp_path / "training" / "exports")

    monkeypatch.setenv("TRAINING_DATABASE_URL", "sqlite:////srv/training.db")
    assert from_environment(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == \
        "sqlite:////srv/training.db"


def test_an_unknown_mode_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPLINE_MODE", "trainig")
    with pytest.raises(ConfigError, match="HELPLINE_MODE must be 'live' or 'training'"):
        from_environment(str(tmp_path))
