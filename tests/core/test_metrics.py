"""/metrics: Prometheus text for administrators or the scraper token; no people in it."""
from __future__ import annotations

import re

from helpline.extensions import db
from helpline.mailer import queue_mail
from tests.factories import make_user


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$"
    return float(re.search(pattern, text, re.MULTILINE).group(1))


def test_only_administrators_or_the_token_read_metrics(app, client, auth):
    assert client.get("/metrics").status_code == 401
    app.config["METRICS_TOKEN"] = "s3cret-scraper-token"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    resp = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper-token"})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    auth.login(make_user("supervisor").email)
    assert client.get("/metrics").status_code == 403


def test_metrics_count_requests_and_read_the_outbox(app, client, auth):
    admin = make_user("admin")
    auth.login(admin.email)
    queue_mail("elliot.hunter@example.org", "Waiting", "Dear Elliot Hunter", key="m-1")
    db.session.commit()
    before = client.get("/metrics").get_data(as_text=True)
    n = _value(before, "helpline_requests_total",
               '{endpoint="contacts.index",method="GET",status="200"}') if (
        'endpoint="contacts.index",method="GET",status="200"' in before) else 0
    client.get("/?q=Livingstone")
    text = client.get("/metrics").get_data(as_text=True)
    assert _value(text, "helpline_requests_total",
                  '{endpoint="contacts.index",method="GET",status="200"}') == n + 1
    assert 'helpline_request_seconds_bucket{endpoint="contacts.index",le="0.5"}' in text
    assert _value(text, "helpline_outbox_backlog") == 1
    assert _value(text, "helpline_redis_up") == 1
    assert _value(text, "helpline_workers_alive") == 0
    assert _value(text, "helpline_event_streams_open") == 0
    assert "helpline_sign_in_failures_15m" in text and "helpline_jobs_queued" in text
    assert "Livingstone" not in text and "elliot" not in text.lower()


def test_made_up_methods_add_no_series(app, client, auth):
    """Break finding: any client could add label values (and memory) with odd methods."""
    auth.login(make_user("admin").email)
    for n in range(20):
        client.open("/healthz", method=f"XMETHOD{n}")
    text = client.get("/metrics").get_data(as_text=True)
    assert "XMETHOD" not in text
    assert 'method="other"' in text
