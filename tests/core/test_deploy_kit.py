"""deploy/: the env template covers every setting in the README, nginx accepts the site."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, free_port

DEPLOY = ROOT / "deploy"


def _readme_settings() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            first = row.split("|")[1]
            for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", first):
                names.add(name)
            # `LOGIN_MAX_FAILURES_PER_ACCOUNT` / `_PER_ADDRESS`
            stem = re.findall(r"`([A-Z][A-Z0-9_]*?)_PER_ACCOUNT`", first)
            for suffix in re.findall(r"`(_[A-Z0-9_]+)`", first):
                if stem:
                    names.add(stem[0] + suffix)
    return names


def test_env_template_has_every_setting_of_the_readme_table():
    names = _readme_settings()
    assert {"DATABASE_URL", "REDIS_URL", "LOG_FORMAT", "SECRET_KEY",
            "LOGIN_MAX_FAILURES_PER_ADDRESS"} <= names
    template = (DEPLOY / "helpline.env.example").read_text()
    present = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", template, re.MULTILINE))
    assert sorted(names - present) == []


def test_units_run_what_the_readme_says():
    web = (DEPLOY / "helpline-web@.service").read_text()
    assert "-c /opt/helpline/gunicorn.conf.py" in web and "-k gevent" in web
    assert "EnvironmentFile=/etc/helpline/helpline.env" in web
    assert "-m helpline.worker" in (DEPLOY / "helpline-worker@.service").read_text()
    assert "flask --app app backup" in (DEPLOY / "helpline-backup.service").read_text()


@pytest.mark.skipif(not (shutil.which("nginx") and shutil.which("openssl")),
                    reason="Debian's nginx and openssl are not installed")
def test_nginx_accepts_the_site_with_a_self_signed_certificate(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    site = (DEPLOY / "nginx-helpline.conf").read_text()
    site = (site.replace("/etc/ssl/helpline/", f"{tmp_path}/")
            .replace("/var/log/nginx/", f"{tmp_path}/")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{free_port()} ssl http2;")
            .replace("listen [::]:443 ssl http2;", "")
            .replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
            .replace("listen [::]:80;", ""))
    assert "proxy_buffering off" in site and "Strict-Transport-Security" in site
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n include /etc/nginx/mime.types;\n"
        f" include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c",
                             str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
