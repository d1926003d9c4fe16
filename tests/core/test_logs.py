"""One log line per request with an id, user, endpoint, status and time; no personal data."""
from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request

from helpline import create_app
from helpline.extensions import db
from helpline.logs import JsonFormatter, TextFormatter
from helpline.telephony import services as telephony
from tests.contacts.helpers import make_contact
from tests.core.runstack import start_run
from tests.factories import PASSWORD, make_user


def _request_records(caplog) -> list[dict]:
    return [r.fields for r in caplog.records if r.name == "helpline.request"]


def test_each_request_has_an_id_header_and_one_log_line(client, auth, caplog):
    user = make_user("volunteer")
    auth.login(user.email)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="helpline.request"):
        resp = client.get("/?q=Livingstone", headers={"HX-Request": "true"})
    rid = resp.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    [line] = _request_records(caplog)
    assert line["request_id"] == rid and line["user_id"] == user.id
    assert line["endpoint"] == "contacts.index" and line["path"] == "/"
    assert line["status"] == 200 and line["method"] == "GET" and line["ms"] >= 0


def test_a_proxy_request_id_is_kept_and_a_strange_one_replaced(client, caplog):
    rid = "0123456789abcdef0123456789abcdef"
    assert client.get("/healthz", headers={"X-Request-Id": rid}).headers["X-Request-Id"] == rid
    odd = client.get("/healthz", headers={"X-Request-Id": "Robert Livingstone <script>"})
    assert odd.headers["X-Request-Id"] != "Robert Livingstone <script>"


def test_error_pages_show_the_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="helpline.request"):
        resp = client.get("/no-such-page/Livingstone")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and resp.headers["X-Request-Id"] in html
    [line] = [f for f in _request_records(caplog) if f["status"] == 404]
    assert line["path"] == "-" and line["endpoint"] == "-"  # an unknown path is not logged
    assert client.get("/readyz", headers={"Accept": "application/json"}).status_code == 200


def test_formats_text_and_json_have_timestamps_and_the_fields():
    record = logging.LogRecord("helpline.request", logging.INFO, __file__, 1, "request", None,
                               None)
    record.request_id = "abc12345"
    record.fields = {"request_id": "abc12345", "user_id": 7, "endpoint": "contacts.index",
                     "status": 200, "ms": 3.2}
    obj = json.loads(JsonFormatter().format(record))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["time"])
    assert obj["user_id"] == 7 and obj["endpoint"] == "contacts.index" and obj["status"] == 200
    text = TextFormatter().format(record)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO helpline.request \[abc12345\]"
                    r" request_id=abc12345 user_id=7 endpoint=contacts.index status=200", text)


RESTORE_TOKEN = "Kept7form8token9nobody0may1read2in3a4log"
SECRETS = ("Zebedee", "Quartermaine", "07700", "900456", "B2 4QA", "B2+4QA", "B2%204QA", "q=")


def test_a_search_leaves_no_trace_in_any_log_file(tmp_path):
    """Must show 3: the whole `make run` stack, LOG_FORMAT=json; every log file read."""
    for run in start_run(tmp_path, LOG_FORMAT="json"):
        app = create_app({"SQLALCHEMY_DATABASE_URI": run.database_url,
                          "REDIS_URL": f"redis://127.0.0.1:{run.redis_port}/0"})
        with app.app_context():
            user = make_user("volunteer", email="zebedee.staff@example.org")
            make_contact(user, first_name="Zebedee", last_name="Quartermaine",
                         phone="07700 900456", postcode="B2 4QA", postcode_area="B")
            user_id = user.id
            phone_token = telephony.rotate_token(make_user("admin"))
            db.session.commit()
            db.engine.dispose()
        base = f"http://127.0.0.1:{run.port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        opener.open(base + "/login", urllib.parse.urlencode(
            {"csrf_token": token, "email": "zebedee.staff@example.org",
             "password": PASSWORD}).encode())
        assert "Quartermaine" in opener.open(base + "/?q=Quartermaine").read().decode()
        for path in ("/?q=07700+900456", "/?q=B2+4QA", "/?q=Zebedee%20Quartermaine",
                     "/contacts/duplicates?first_name=Zebedee&last_name=Quartermaine"
                     "&phone=07700900456&postcode=B2+4QA"):
            opener.open(urllib.request.Request(base + path, headers={"HX-Request": "true"}))
        # paths that are credentials: the phone system's token, a parked form's token
        assert urllib.request.urlopen(urllib.request.Request(
            f"{base}/telephony/{phone_token}", data=json.dumps(
                {"event": "newCall", "callId": "log-1", "from": "447700900456",
                 "direction": "in"}).encode(),
            headers={"Content-Type": "application/json"})).status == 201
        opener.open(f"{base}/restore/{RESTORE_TOKEN}")  # unknown: back to Contacts
        try:  # a backslash and a quote in a matched route's path (break finding)
            opener.open(base + "/admin/mail/a%5Cx%22y%5Cu0041")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
        try:
            opener.open(base + "/Quartermaine")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    logs = {p: p.read_text(errors="replace") for p in tmp_path.rglob("*")
            if p.is_file() and p.suffix == ".log"}
    assert {p.name for p in logs} >= {"run.log", "redis.log"}
    everything = "\n".join(logs.values())
    for secret in (*SECRETS, "zebedee.staff", phone_token, RESTORE_TOKEN):
        assert secret.lower() not in everything.lower(), secret
    lines = [json.loads(ln) for ln in logs[tmp_path / "run.log"].splitlines()
             if ln.startswith("{")]
    ours = [ln for ln in lines if ln.get("logger") == "helpline.request"
            and ln["endpoint"] == "contacts.index"]
    assert len(ours) >= 4 and all(ln["user_id"] == user_id and ln["status"] == 200
                                  for ln in ours)
    access = {ln["request_id"] for ln in lines if ln.get("logger") == "gunicorn.access"}
    assert {ln["request_id"] for ln in ours} <= access  # the same id in both logs
    requests = [ln.get("request", "") for ln in lines if ln.get("logger") == "gunicorn.access"]
    assert "POST /telephony/<token> HTTP/1.1" in requests  # the rule, as the app logs it
    assert "GET /restore/<token> HTTP/1.1" in requests
    assert "GET /admin/mail/a%5Cx%22y%5Cu0041 HTTP/1.1" in requests  # every line parsed


def test_a_line_break_in_a_path_cannot_forge_a_log_line(client, auth, caplog):
    """Break finding: %0A in a matched route's path split the request line in two."""
    auth.login(make_user("volunteer").email)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="helpline.request"):
        client.get("/cases/queues/abc%0A2026-12-07T06:50:00.000Z%20INFO%20forged%0D")
    [line] = _request_records(caplog)
    assert "\n" not in line["path"] and "\r" not in line["path"]
    assert line["path"].startswith("/cases/queues/abc%0A") and line["path"].endswith("%0D")
    text = TextFormatter().format(caplog.records[-1]) if caplog.records else ""
    assert "\n" not in text
