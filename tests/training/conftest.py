"""The training site: the same app built with HELPLINE_MODE=training, on the test database,
Redis and mail catcher. Its mail settings point at a "live" mail server on purpose: the
training site must send to the local catcher anyway."""
from __future__ import annotations

import pytest

from helpline import create_app
from helpline.extensions import db
from helpline.jobs import set_job_app
from tests.conftest import FreshContextClient, _config

LIVE_MAIL = {"MAIL_SERVER": "smtp.live-mail.example.org", "MAIL_PORT": 587,
             "MAIL_USE_TLS": True, "MAIL_USERNAME": "helpline", "MAIL_PASSWORD": "live-secret"}


@pytest.fixture
def training_app(app, database_url, redis_server, smtp, tmp_path):
    config = {**_config(database_url, redis_server.url, smtp), **LIVE_MAIL,
              "HELPLINE_MODE": "training", "TRAINING": True,
              "MAIL_CATCHER_PORT": smtp["port"],
              "TRAINING_FILES_DIR": str(tmp_path / "training"),
              "EXPORT_DIR": str(tmp_path / "training" / "exports"),
              "ATTACHMENT_DIR": str(tmp_path / "training" / "attachments")}
    tapp = create_app(config)
    tapp.test_client_class = FreshContextClient
    set_job_app(tapp)  # jobs (the mail) run in the training app, as its worker would
    yield tapp
    set_job_app(app)
    with tapp.app_context():
        db.engine.dispose()


@pytest.fixture
def training_client(training_app):
    return training_app.test_client()
