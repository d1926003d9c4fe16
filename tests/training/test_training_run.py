"""`make run-training` beside a live `make run` (review findings M2, M5): its own Redis
data and mail folders even with INSTANCE_DIR set, and it never advertises itself on a
port another site holds."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from helpline import ROOT

SHOW = ("import helpline.run as r; print(r.INSTANCE / 'redis'); "
        "print(r.INSTANCE / 'mail')")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HELPLINE_MODE", "INSTANCE_DIR", "PORT", "TRAINING_REDIS_URL",
                        "REDIS_URL", "MAIL_SERVER")}
    return {**env, **extra}


def _folders(**extra) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SHOW], env=_env(**extra), cwd=str(ROOT),
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


def test_with_instance_dir_training_has_its_own_redis_and_mail_folders(tmp_path):
    live = _folders(INSTANCE_DIR=str(tmp_path))
    training = _folders(INSTANCE_DIR=str(tmp_path), HELPLINE_MODE="training")
    assert live == [str(tmp_path / "redis"), str(tmp_path / "mail")]
    assert training == [str(tmp_path / "training" / "redis"),
                        str(tmp_path / "training" / "mail")]


def test_a_busy_web_port_stops_the_start_before_any_banner(tmp_path):
    with socket.socket() as held:  # another site listening on the training port
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "helpline.run"], cwd=str(ROOT), capture_output=True,
            text=True, timeout=60,
            env=_env(HELPLINE_MODE="training", PORT=str(port), INSTANCE_DIR=str(tmp_path)))
    assert proc.returncode != 0
    assert f"Port {port} is busy" in proc.stderr and "nothing was started" in proc.stderr
    assert "running at" not in proc.stdout and "TRAINING site" not in proc.stdout
    assert not (tmp_path / "training" / "redis").exists()  # no Redis was started


def test_the_practice_password_can_come_from_the_environment():
    """L3: a trainer who does not want the README's password sets PRACTICE_PASSWORD."""
    show = "from helpline.training.scenarios import PRACTICE_PASSWORD as p; print(p)"
    out = subprocess.run([sys.executable, "-c", show], cwd=str(ROOT), capture_output=True,
                         text=True, timeout=60, check=True,
                         env=_env(PRACTICE_PASSWORD="our-own-practice-pw"))
    assert out.stdout.strip() == "our-own-practice-pw"
