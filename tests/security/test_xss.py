"""An XSS payload corpus typed into every free-text field through the real forms, then
every page of the URL map (and the htmx fragments) checked: shown, but always escaped."""
from __future__ import annotations

import html
import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_user
from tests.security.conftest import rule_urls, signed_in
from tests.security.xss_world import build

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute break": '"><img src=x onerror=alert(1)>',
    "single-quote attribute": "' onmouseover='alert(1)' x='",
    "javascript url": "javascript:alert(1)",
    "xss locator": "'';!--\"<XSS>=&{()}",
    "svg": "<svg/onload=alert(1)>",
    "textarea break": "</textarea><script>alert(1)</script>",
    "template injection": "tpl{{7*191}}tpl{%if 1%}x{%endif%}",
    "crlf": "\r\nX-Injected: 1",
}
# Typed three at a time (each group fits the shortest field, 100 characters), so every
# field meets every payload in three worlds rather than nine.
GROUPS = {
    "script, attribute breaks": ["script", "attribute break", "single-quote attribute"],
    "javascript url, locator, svg": ["javascript url", "xss locator", "svg"],
    "textarea, template, crlf": ["textarea break", "template injection", "crlf"],
}

SKIP = {"notifications.stream", "auth.logout", "static", "main.healthz", "main.readyz",
        "review.download"}
FRAGMENTS = [
    "/?q=07700", "/?q=B1 1AA", "/?letter=R", "/contacts/duplicates?first_name=a&last_name=b",
    "/cases/beneficiaries?q=07700", "/interactions/enquirers?q=07700",
    "/interactions/cases?q=CA", "/interactions/handlers/search?handler_q=tpl",
    "/interactions/handlers/search?handler_q=script", "/interactions/handlers",
    "/knowledge/?kq=script", "/knowledge/?kq=tpl", "/directory?q=script",
    "/callbacks/reminders", "/cases/rows/signpost", "/cases/rows/referral",
    "/cases/rows/referral-extra?referrals-0-type={item_id}&index=0",
    "/supervisor/audit?record_type=contact&record_id={contact_id}",
    "/callback-requests/{request_id}?q=07700",
    "/cases/new/{contact_id}?restore_draft={draft_id}",  # a restored draft holds the text
    "/telephony/panel",  # the number a phone system sent
]
URL_ATTR = re.compile(r"""(href|src|action|formaction|hx-get|hx-post)\s*=\s*["']?\s*javascript:""",
                      re.I)


def _norm(text: str) -> str:
    return " ".join(text.replace("\r\n", "\n").split())


def problems_in(body: str, parts: list[str], where: str) -> list[str]:
    """What is wrong with how the payload `parts` appear in this HTML."""
    out = []
    for part in parts:
        if any(c in part for c in "<>\"'") and part in body:
            out.append(f"{where}: raw payload {part!r}")
    if "<script>alert(1)</script>" in body or "onerror=alert(1)>" in body:
        out.append(f"{where}: live script tag or handler")
    if re.search(r"<(svg|img)\b[^>]*\bon(load|error)\b|<xss>", body, re.I):
        out.append(f"{where}: injected element")
    if URL_ATTR.search(body):
        out.append(f"{where}: javascript: URL in an attribute")
    if "1337" in body and "tpl1337" in body:
        out.append(f"{where}: template expression evaluated")
    return out


def _pages(app, ids):
    for endpoint, method, url in rule_urls(app, ids):
        if method == "GET" and endpoint not in SKIP:
            yield url, {}
    for url in FRAGMENTS:
        yield url.format(**ids), {"HX-Request": "true"}


def test_each_group_fits_the_shortest_field():
    assert all(len("".join(PAYLOADS[n] for n in names)) <= 100 for names in GROUPS.values())
    assert sorted(n for names in GROUPS.values() for n in names) == sorted(PAYLOADS)


@pytest.mark.parametrize("group", GROUPS.values(), ids=GROUPS.keys())
def test_payload_is_shown_escaped_everywhere(app, group):
    parts = [PAYLOADS[n] for n in group]
    payload = "".join(parts)
    client = signed_in(app, "admin")
    ids = build(client, client.user_id, payload)
    refused = [(u, s) for u, s in ids["_log"] if s not in (200, 302)]
    assert refused == [], "a form refused the payload; the field was not exercised"
    found, problems, errors = set(), [], []
    for url, headers in _pages(app, ids):
        resp = client.get(url, headers=headers)
        if resp.status_code >= 500:
            errors.append(f"{url}: {resp.status_code}")
        for name, value in resp.headers.items():
            if "injected" in name.lower() or "injected" in value:
                problems.append(f"{url}: header injection {name}: {value}")
        if resp.mimetype != "text/html":
            continue
        body = resp.get_data(as_text=True)
        problems += problems_in(body, parts, url)
        if _norm(payload) in _norm(html.unescape(body)):
            found.add(url.split("?")[0])
    assert errors == []
    assert problems == []
    # The payload really reached the pages that show each record.
    must_show = ["/contacts/{contact_id}", "/cases/{case_id}", "/interactions/{interaction_id}",
                 "/callbacks/{cb_id}", "/callback-requests/{request_id}",
                 "/knowledge/{article_id}", "/admin/users", "/admin/teams", "/directory",
                 "/admin/lists/signpost_category", "/review/", "/supervisor/audit",
                 "/notifications", "/admin/local-teams", "/review/cases/{case_id}"]
    missing = [u.format(**ids) for u in must_show if u.format(**ids) not in found]
    assert missing == []


@pytest.mark.browser
def test_no_dialog_fires_on_a_record_holding_the_payloads(app, page, live_server):
    client = signed_in(app, "admin")
    ids = build(client, client.user_id,
                '<script>alert(1)</script>"><img src=x onerror=alert(2)><svg/onload=alert(3)>')
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    admin = make_user("admin")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/")
    for path in ("/contacts/{contact_id}", "/cases/{case_id}", "/interactions/{interaction_id}",
                 "/callbacks/{cb_id}", "/callback-requests/{request_id}", "/review/",
                 "/supervisor/", "/knowledge/{article_id}", "/directory", "/admin/users"):
        page.goto(live_server.url + path.format(**ids))
        page.wait_for_load_state("load")
        expect(page.locator("h1").first).to_be_visible()
        page.mouse.move(200, 300)  # hover handlers would fire here
    page.goto(live_server.url + "/")
    page.get_by_role("searchbox").first.press_sequentially("07700")
    page.wait_for_load_state("networkidle")
    assert dialogs == []


def test_the_checker_catches_unescaped_output():
    parts = [PAYLOADS["script"], PAYLOADS["attribute break"]]
    assert problems_in("<p>" + "".join(parts) + "</p>", parts, "page")
    assert problems_in('<a href="javascript:alert(1)">x</a>', [], "page")
    assert problems_in("<p>tpl1337tpl</p>", [], "page")
    escaped = html.escape("".join(parts + [PAYLOADS["javascript url"]]))
    assert problems_in(f'<p title="{escaped}">{escaped}</p>', parts, "page") == []
