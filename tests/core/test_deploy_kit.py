"""deploy/: the env template covers every setting in the README, nginx accepts the site."""
from __future__ import annotations

import http.cookiejar
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from helpline import create_app
from helpline.extensions import db
from helpline.notifications.services import notify
from helpline.telephony import services as telephony
from helpline.run import port_open
from tests.conftest import ROOT, free_port, wait_until
from tests.core.runstack import start_run
from tests.factories import PASSWORD, make_user

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
    # the README's web command is the unit's (walk finding: it had no access log)
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"`gunicorn -c gunicorn\.conf\.py ([^`]+) app:app`", readme).group(1)
    unit = " ".join(web.split("ExecStart=")[1].split("app:app")[0].replace("\\\n", " ")
                    .split())
    assert " ".join(command.replace("PORT", "%i").split()) in unit


def test_the_install_steps_make_the_lookup_lists():
    """Walk finding: the install made its first administrator with create-user, so the
    lookup lists stayed empty and `setup` then refused to run."""
    steps = (DEPLOY / "README.md").read_text()
    assert "flask --app app setup" in steps and "create-user" not in steps
    assert "/var/lib/helpline/attachments" in steps  # the template's ATTACHMENT_DIR


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


def _nginx_conf(tmp_path, upstream_port: int) -> tuple[int, int]:
    """The site as shipped, pointed at one test web process, on free ports, in tmp_path."""
    https, http = free_port(), free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    site = (DEPLOY / "nginx-helpline.conf").read_text()
    site = re.sub(r"server 127\.0\.0\.1:8001 max_fails=0;\n\s*server 127\.0\.0\.1:8002 "
                  r"max_fails=0;", f"server 127.0.0.1:{upstream_port};", site)
    site = (site.replace("/etc/ssl/helpline/", f"{tmp_path}/")
            .replace("/var/log/nginx/", f"{tmp_path}/")
            .replace("/opt/helpline/static/", f"{ROOT}/static/")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
            .replace("listen [::]:443 ssl http2;", "")
            .replace("listen 80;", f"listen 127.0.0.1:{http};")
            .replace("listen [::]:80;", ""))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nuser root;\n"
        "events {}\nhttp {\n include /etc/nginx/mime.types;\n"
        f" include {tmp_path}/site.conf;\n}}\n")
    return https, http


RESTORE_TOKEN = "Kept7form8token9nobody0may1read2in3a4log"


@pytest.mark.skipif(not (shutil.which("nginx") and shutil.which("openssl")),
                    reason="Debian's nginx and openssl are not installed")
def test_the_stack_behind_the_shipped_nginx_site(tmp_path):
    """HTTPS with HSTS, the request id end to end, static files cached and gzipped, and a
    live event through nginx's unbuffered /events."""
    for run in start_run(tmp_path, TRUST_PROXY_HOPS="1", SSE_KEEPALIVE_SECONDS="1",
                         HELPLINE_ENV="production"):
        https, plain = _nginx_conf(tmp_path, run.port)
        nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                  "-g", "daemon off;"], stderr=subprocess.PIPE)
        try:
            wait_until(lambda: port_open(https) or nginx.poll() is not None, timeout=30)
            assert nginx.poll() is None, nginx.stderr.read()
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx),
                                                 urllib.request.HTTPCookieProcessor(jar))
            base = f"https://127.0.0.1:{https}"

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *args, **kwargs):
                    return None
            try:
                urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{plain}/login")
                raise AssertionError("plain HTTP was served")
            except urllib.error.HTTPError as exc:
                assert exc.code == 301 and exc.headers["Location"].startswith("https://")

            resp = opener.open(base + "/login")
            page = resp.read().decode()
            assert resp.headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]
            rid = resp.headers["X-Request-Id"]
            assert re.fullmatch(r"[0-9a-f]{32}", rid)
            assert all(c.secure for c in jar)  # the app knows it is behind HTTPS

            css = re.search(r'href="(/static/css/helpline\.css\?v=[0-9a-f]+)"', page).group(1)
            static = opener.open(urllib.request.Request(
                base + css, headers={"Accept-Encoding": "gzip"}))
            assert static.headers.get_all("Cache-Control") == [
                "public, max-age=31536000, immutable"]
            assert static.headers["Strict-Transport-Security"] == "max-age=31536000"
            assert static.headers["Content-Encoding"] == "gzip"

            app = create_app({"SQLALCHEMY_DATABASE_URI": run.database_url,
                              "REDIS_URL": f"redis://127.0.0.1:{run.redis_port}/0"})
            with app.app_context():
                user = make_user("volunteer", email="nginx.test@example.org")
                token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                  page).group(1)
                # over HTTPS Flask-WTF also wants a same-origin Referer, as browsers send
                opener.open(urllib.request.Request(base + "/login", urllib.parse.urlencode(
                    {"csrf_token": token, "email": user.email, "password": PASSWORD}).encode(),
                    headers={"Referer": base + "/login"}))
                stream = opener.open(urllib.request.Request(
                    base + "/events", headers={"Accept": "text/event-stream"}), timeout=30)
                assert stream.readline().startswith(b"retry:")  # not held in a buffer
                notify([user], "Through nginx")
                db.session.commit()
                got = b""
                while b"Through nginx" not in got:
                    line = stream.readline()
                    assert line, "the stream ended"
                    got += line
                stream.close()
                # paths that are credentials are logged as their route (below)
                phone_token = telephony.rotate_token(make_user("admin"))
                db.session.commit()
                assert opener.open(urllib.request.Request(
                    f"{base}/telephony/{phone_token}", data=b"event=newCall&callId=n1"
                    b"&from=447700900456&direction=in")).status == 201
                opener.open(f"{base}/restore/{RESTORE_TOKEN}")
                db.engine.dispose()
        finally:
            nginx.terminate()
            nginx.wait(20)
    access = (tmp_path / "helpline.access.log").read_text()
    assert rid in access and "?v=" not in access
    assert phone_token not in access and RESTORE_TOKEN not in access
    assert '"POST /telephony/<token> HTTP' in access and '"GET /restore/<token> HTTP' in access
    assert rid in run.log  # the app's own request line carries nginx's id


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_env_template_can_be_read_by_a_shell(shell):
    """Break finding: deploy/README.md's `set -a; . helpline.env` (and the cron backup,
    run by dash) stopped at `MAIL_DEFAULT_SENDER=Helpline <helpline@...>`, a redirection."""
    import shutil
    import subprocess
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    template = DEPLOY / "helpline.env.example"
    out = subprocess.run([shell, "-c", f'set -a; . "{template}"; echo "$MAIL_DEFAULT_SENDER";'
                                       ' echo "$LOG_FORMAT"'],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["Helpline <helpline@example.org>", "text"]
