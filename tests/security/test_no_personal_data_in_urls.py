"""Searched names, phones and postcodes stay out of the address bar and the access log."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import urllib.parse
import urllib.request

from helpline.run import port_open, web_command
from tests.conftest import ROOT, free_port, wait_until
from tests.contacts.helpers import make_contact
from tests.factories import PASSWORD, make_user

PUSHING = re.compile(r"hx-push-url|hx-replace-url|pushState|replaceState|HX-Push|HX-Replace",
                     re.IGNORECASE)


def test_no_template_or_script_pushes_a_url():
    found = [str(p.relative_to(ROOT)) for base in ("templates", "static/js")
             for p in (ROOT / base).rglob("*") if p.suffix in (".html", ".js")
             and not p.name.endswith(".min.js") and PUSHING.search(p.read_text())]
    assert found == []


def test_contact_search_page_and_fragment_do_not_push_the_terms(client, auth):
    user = make_user("volunteer")
    make_contact(user, first_name="Robert", last_name="Livingstone")
    auth.login(user.email)
    for headers in ({}, {"HX-Request": "true"}):
        resp = client.get("/?q=Livingstone", headers=headers)
        html = resp.get_data(as_text=True)
        assert "Robert Livingstone" in html and not PUSHING.search(html)
        assert "HX-Push-Url" not in resp.headers and "HX-Replace-Url" not in resp.headers
    page = client.get("/").get_data(as_text=True)
    search = re.search(r'<input[^>]+id="q"[^>]*>', page).group(0)
    assert 'hx-get="/"' in search and "push" not in search


def _gunicorn_env(app) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=app.config["REDIS_URL"], MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(app.config["MAIL_PORT"]),
               MAIL_CATCHER_DIR=app.config["MAIL_CATCHER_DIR"])
    return env


def test_access_log_has_the_path_without_the_search_terms(app, tmp_path):
    """The web server exactly as `make run` starts it (helpline.run.web_command)."""
    user = make_user("volunteer")
    make_contact(user, first_name="Robert", last_name="Livingstone", phone="07700 900123",
                 postcode="B1 1AA")
    port = free_port()
    log = open(tmp_path / "web.log", "wb")
    proc = subprocess.Popen(web_command(port), cwd=ROOT, env=_gunicorn_env(app), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: port_open(port) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, (tmp_path / "web.log").read_text()
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        opener.open(base + "/login", urllib.parse.urlencode(
            {"csrf_token": token, "email": user.email, "password": PASSWORD}).encode())
        searches = ["/?q=Livingstone", "/?q=07700+900123&letter=R", "/?q=B1+1AA",
                    "/contacts/duplicates?first_name=Robert&last_name=Livingstone"
                    "&phone=07700900123&postcode=B1+1AA",
                    "/cases/beneficiaries?beneficiary_q=Livingstone",
                    "/interactions/enquirers?enquirer_q=Livingstone"]
        for path in searches:
            req = urllib.request.Request(base + path, headers={
                "HX-Request": "true", "Referer": base + "/?q=Livingstone+Referer"})
            assert opener.open(req).status == 200
        assert "Robert Livingstone" in opener.open(base + "/?q=Livingstone").read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # graceful: the log is flushed
        proc.wait(30)
        log.close()
    text = (tmp_path / "web.log").read_text()
    lines = [ln for ln in text.splitlines() if '"GET ' in ln]
    assert len(lines) >= len(searches) + 3, text
    assert sum('"GET / HTTP/1.1" 200' in ln for ln in lines) >= 4, text
    assert '"GET /contacts/duplicates HTTP/1.1" 200' in text
    assert '"GET /cases/beneficiaries HTTP/1.1" 200' in text
    for secret in ("Livingstone", "Robert", "07700", "900123", "B1+1AA", "B1 1AA", "q=", "?"):
        assert secret not in "\n".join(lines), secret


def test_signed_out_search_fragment_sends_to_login_without_the_terms(client):
    resp = client.get("/?q=Livingstone", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"] == "/login?next=/"
