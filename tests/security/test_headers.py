"""Security headers on every HTML response, secure cookies behind HTTPS, and no
Content Security Policy violation in a real browser (so no inline script anywhere)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpline import create_app
from helpline.config import ConfigError
from tests.conftest import AuthActions, FreshContextClient, _config
from tests.factories import PASSWORD, make_user
from tests.security.conftest import rule_urls, signed_in

SKIP = {"notifications.stream", "auth.logout"}  # a stream never ends; sign-out is a POST


def csp_directives(header: str) -> dict[str, list[str]]:
    """Parse a Content-Security-Policy header into {directive: [sources]}."""
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.strip().split()
        if words:
            out.setdefault(words[0].lower(), [w for w in words[1:]])
    return out


def assert_csp(header: str | None, where: str) -> None:
    assert header, f"{where}: no Content-Security-Policy"
    csp = csp_directives(header)
    for directive in ("script-src", "default-src"):
        sources = csp.get(directive)
        assert sources is not None, f"{where}: no {directive} in {header!r}"
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, where
    assert csp["script-src"] == ["'self'"], f"{where}: script-src {csp['script-src']}"
    assert csp.get("frame-ancestors") == ["'none'"], f"{where}: frame-ancestors"
    assert csp.get("object-src") == ["'none'"], f"{where}: object-src"


def assert_basic_headers(resp, where: str) -> None:
    h = resp.headers
    assert_csp(h.get("Content-Security-Policy"), where)
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") == "same-origin", where
    assert h.get("X-Frame-Options") == "DENY", where


def test_the_csp_parser():
    csp = csp_directives("default-src 'self'; script-src 'self' 'unsafe-inline';  ")
    assert csp == {"default-src": ["'self'"], "script-src": ["'self'", "'unsafe-inline'"]}


def test_every_html_page_of_the_url_map_carries_the_headers(app, ids):
    """Every GET route (as an administrator, who may open them all), plus the sign-in
    page and the error pages: HTML responses carry every header; signed-in ones no-store."""
    client = signed_in(app, "admin")
    seen = 0
    problems = []
    for endpoint, method, url in rule_urls(app, ids):
        if method != "GET" or endpoint in SKIP:
            continue
        resp = client.get(url)
        if not resp.mimetype == "text/html":
            continue
        seen += 1
        try:
            assert_basic_headers(resp, url)
            assert "no-store" in resp.headers.get("Cache-Control", ""), f"{url}: cacheable"
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    assert seen > 40
    assert problems == []


@pytest.mark.parametrize("path", ["/login", "/no-such-page"])
def test_signed_out_pages_carry_the_headers(client, path):
    resp = client.get(path)
    assert resp.mimetype == "text/html"
    assert_basic_headers(resp, path)


def test_error_pages_carry_the_headers(app):
    volunteer = signed_in(app, "volunteer")
    for path, status in (("/admin/", 403), ("/cases/999999", 404)):
        resp = volunteer.get(path)
        assert resp.status_code == status
        assert_basic_headers(resp, path)
        assert "no-store" in resp.headers.get("Cache-Control", "")


def test_fragments_carry_the_headers(app, ids):
    client = signed_in(app, "supervisor")
    resp = client.get("/?q=Rob", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    assert_basic_headers(resp, "contact search fragment")
    assert "no-store" in resp.headers.get("Cache-Control", "")


# --- production behind HTTPS -------------------------------------------------

@pytest.fixture
def production_app(monkeypatch, migrated, database_url, redis_server, smtp):
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-production-secret-for-this-test-only")
    monkeypatch.setenv("TRUST_PROXY_HOPS", "1")
    app = create_app({k: v for k, v in _config(database_url, redis_server.url, smtp).items()
                      if k != "TESTING"})
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app


def test_production_needs_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def _session_cookie_header(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, f"no session cookie set: {resp.headers.getlist('Set-Cookie')}"
    return cookies[-1]


def _assert_secure_cookie(header: str) -> None:
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in header.split(";")[1:]}
    assert "secure" in attrs, header
    assert "httponly" in attrs, header
    assert attrs.get("samesite", "").lower() == "samesite=lax", header


def _sign_in(client) -> object:
    user = make_user()
    return AuthActions(client).login(user.email)


class HttpsClient(FreshContextClient):
    """Every request over HTTPS, as a browser at https://localhost would make it."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "https://localhost")
        # Over HTTPS Flask-WTF also checks the Referer is our own origin; a browser sends
        # it (Referrer-Policy: same-origin keeps it for our own pages).
        kwargs.setdefault("headers", {}).setdefault("Referer", "https://localhost/login")
        return super().open(*args, **kwargs)


def test_https_request_gets_a_secure_cookie_and_hsts(production_app):
    production_app.test_client_class = HttpsClient
    client = production_app.test_client()
    resp = _sign_in(client)
    assert resp.status_code == 302
    _assert_secure_cookie(_session_cookie_header(resp))
    home = client.get("/")
    assert home.status_code == 200
    assert "max-age=" in home.headers.get("Strict-Transport-Security", "")
    assert_basic_headers(home, "/ over https")


def test_https_through_the_proxy_header(production_app):
    """Behind a proxy that ends TLS (TRUST_PROXY_HOPS=1), X-Forwarded-Proto says HTTPS."""
    client = production_app.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    client.environ_base["HTTP_REFERER"] = "https://localhost/login"
    resp = _sign_in(client)
    _assert_secure_cookie(_session_cookie_header(resp))
    assert "max-age=" in client.get("/login").headers.get("Strict-Transport-Security", "")


def test_plain_http_gets_no_hsts(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


# --- a real browser reports no CSP violation ----------------------------------

BROWSER_PAGES = ["/", "/contacts/new", "/contacts/{contact_id}", "/cases/{case_id}",
                 "/cases/new/{contact_id}", "/interactions/new", "/callbacks/",
                 "/callbacks/new/{case_id}", "/callbacks/{cb_id}", "/callback-requests/new",
                 "/callback-requests/{request_id}", "/review/", "/review/cases/{case_id}",
                 "/review/export", "/supervisor/", "/supervisor/dashboard", "/supervisor/audit",
                 "/knowledge/", "/directory", "/notifications", "/admin/", "/admin/users",
                 "/admin/lists/signpost_category", "/admin/knowledge", "/admin/teams"]


@pytest.mark.browser
def test_no_content_security_policy_violation_in_chromium(page, live_server, ids):
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    admin = make_user("admin")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/")
    for path in BROWSER_PAGES:
        page.goto(live_server.url + path.format(**ids))
        page.wait_for_load_state("load")
        expect(page.locator("h1").first).to_be_visible()
    page.goto(live_server.url + "/?q=Rob")  # the live search swaps a fragment in
    page.get_by_role("searchbox").first.press_sequentially("Liv")
    page.wait_for_load_state("networkidle")
    violations = [m for m in messages if re.search(r"Content.Security.Policy", m, re.I)]
    assert violations == []
