"""`make prod-check` as a test: deploy/prod_check.py passes on this machine (PostgreSQL,
one Redis, two gunicorn web processes, two workers, Debian's nginx over HTTPS). It runs in
the PostgreSQL half of CI (.ci/run sets TEST_DATABASE_URL) and starts its own cluster there."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

in_postgresql_half = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                        reason="runs in the PostgreSQL half of CI (.ci/run)")


def _prod_check():
    spec = importlib.util.spec_from_file_location("prod_check", ROOT / "deploy" / "prod_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install_nginx_in_ci() -> None:
    """In CI a missing nginx is installed from Debian (as `make nginx` does)."""
    if os.environ.get("CI") != "true" or shutil.which("nginx") or \
            os.path.exists("/usr/sbin/nginx"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "nginx-light"], check=False,
                   capture_output=True)


@in_postgresql_half
def test_prod_check_passes():
    prod_check = _prod_check()
    _install_nginx_in_ci()
    missing = prod_check.missing_prerequisites()
    if missing:
        pytest.skip("needs " + ", ".join(missing))
    proc = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "prod_check.py")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the check stops everything it started
        out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, out + err
    assert "prod-check passed" in out
    assert "the live event arrived on Ben's stream in the process on" in out
    assert "fired by worker" in out and "stopped everything it started" in out


def test_the_upstream_is_rewritten_to_the_check_s_web_ports(tmp_path):
    site = _prod_check().nginx_site(tmp_path, [1111, 2222], 3333, 4444)
    assert "server 127.0.0.1:1111 max_fails=0;" in site
    assert "server 127.0.0.1:2222 max_fails=0;" in site and ":8001" not in site
    assert "listen 127.0.0.1:3333 ssl http2;" in site and "proxy_buffering off" in site
