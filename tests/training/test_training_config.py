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


LIVE_DIRS = ("EXPORT_DIR", "ATTACHMENT_DIR", "BACKUP_DIR", "MAIL_CATCHER_DIR")


def test_training_mode_ignores_the_live_folders_and_base_url(monkeypatch, tmp_path):
    """H2, M1: the deploy env file sets the live folders and BASE_URL for every unit."""
    for key in LIVE_DIRS:
        monkeypatch.setenv(key, str(tmp_path / "live" / key.lower()))
    monkeypatch.setenv("BASE_URL", "https://helpline.example.org")
    monkeypatch.delenv("TRAINING_BASE_URL", raising=False)
    monkeypatch.delenv("TRAINING_MAIL_CATCHER_DIR", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    live = from_environment(str(tmp_path))
    assert [live[k] for k in LIVE_DIRS] == [str(tmp_path / "live" / k.lower())
                                            for k in LIVE_DIRS]
    assert live["BASE_URL"] == "https://helpline.example.org"

    monkeypatch.setenv("HELPLINE_MODE", "training")
    training = from_environment(str(tmp_path))
    for key, name in zip(LIVE_DIRS, ("exports", "attachments", "backups", "mail"),
                         strict=True):
        assert training[key] == str(tmp_path / "training" / name)
    assert training["TRAINING_FILES_DIR"] == str(tmp_path / "training")
    assert training["BASE_URL"] == "http://127.0.0.1:5001"
    monkeypatch.setenv("TRAINING_BASE_URL", "https://training.helpline.example.org")
    assert from_environment(str(tmp_path))["BASE_URL"] == \
        "https://training.helpline.example.org"


@pytest.mark.parametrize("live, training", [
    ("redis://redis.live:6379/0", "redis://redis.live:6379/0"),
    ("redis://redis.live:6379/0", "redis://redis.live/"),
    ("redis://localhost:6380/0", "redis://127.0.0.1:6380"),
])
def test_training_refuses_the_live_redis(monkeypatch, tmp_path, live, training):
    """M3: shared queues and keys would run live jobs in training and the other way."""
    monkeypatch.setenv("HELPLINE_MODE", "training")
    monkeypatch.setenv("REDIS_URL", live)
    monkeypatch.setenv("TRAINING_REDIS_URL", training)
    with pytest.raises(ConfigError, match="TRAINING_REDIS_URL names the live site's Redis"):
        from_environment(str(tmp_path))
    monkeypatch.setenv("TRAINING_REDIS_URL", "redis://redis.live:6379/5")
    assert from_environment(str(tmp_path))["REDIS_URL"] == "redis://redis.live:6379/5"


def test_training_default_redis_is_not_the_live_default(monkeypatch, tmp_path):
    for key in ("REDIS_URL", "TRAINING_REDIS_URL", "EMBEDDED_REDIS_PORT"):
        monkeypatch.delenv(key, raising=False)
    live = from_environment(str(tmp_path))["REDIS_URL"]
    monkeypatch.setenv("HELPLINE_MODE", "training")
    assert from_environment(str(tmp_path))["REDIS_URL"] != live
