"""Base page, static files, audit trail and notifications."""
from sqlalchemy import select

from helpline import audit
from helpline.audit.models import AuditEntry
from helpline.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_user


def test_base_page_has_skip_link_user_and_role_navigation(client, auth):
    auth.login(make_user("volunteer", name="Allison Bates").email)
    html = client.get("/").get_data(as_text=True)
    assert 'class="govuk-skip-link"' in html and "Skip to main content" in html
    assert "Allison Bates" in html and "(Volunteer)" in html
    assert ">Admin<" not in html
    assert "sse-connect=" in html and 'hx-headers=\'{"X-CSRFToken"' in html


def test_admin_sees_admin_navigation(client, auth):
    auth.login(make_user("admin").email)
    assert ">Admin<" in client.get("/admin/").get_data(as_text=True)


def test_pages_load_no_web_fonts_and_no_cdn(client):
    html = client.get("/login").get_data(as_text=True)
    assert "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html
    css = client.get("/static/css/govuk-frontend.min.css").get_data(as_text=True)
    assert "@font-face" not in css and "GDS Transport" not in css


def test_static_files_are_compressed_and_cached_long(client):
    html = client.get("/login").get_data(as_text=True)
    assert "/static/js/htmx.min.js?v=" in html
    resp = client.get("/static/js/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "max-age=31536000" in resp.headers["Cache-Control"]


def test_static_files_go_out_at_the_best_compression_and_decode_to_the_file(client):
    """Issue 17 (first load on a slow link): brotli 11 / gzip 9, once per file, not the
    speed-minded level pages get; what the browser decodes is the file itself."""
    import gzip
    from pathlib import Path

    import brotli
    for name in ("css/govuk-frontend.min.css", "js/htmx.min.js", "js/helpline.js"):
        original = (Path(client.application.static_folder) / name).read_bytes()
        br = client.get(f"/static/{name}", headers={"Accept-Encoding": "gzip, br"})
        assert br.headers["Content-Encoding"] == "br" and "Accept-Encoding" in br.headers["Vary"]
        assert brotli.decompress(br.get_data()) == original
        assert len(br.get_data()) == len(brotli.compress(original, quality=11))
        assert int(br.headers["Content-Length"]) == len(br.get_data())
        gz = client.get(f"/static/{name}", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(gz.get_data()) == original
        plain = client.get(f"/static/{name}", headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in plain.headers and plain.get_data() == original
        assert "max-age=31536000" in br.headers["Cache-Control"]
    # each encoding has its own tag (break finding: a resumed download could join them)
    css = "/static/css/govuk-frontend.min.css"
    tags = {enc: client.get(css, headers={"Accept-Encoding": enc}).headers["ETag"]
            for enc in ("br", "gzip", "identity")}
    assert len(set(tags.values())) == 3
    resumed = client.get(css, headers={"Accept-Encoding": "br", "Range": "bytes=10-",
                                       "If-Range": tags["br"]})
    assert resumed.status_code == 200 and resumed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(resumed.get_data()) == (
        Path(client.application.static_folder) / "css/govuk-frontend.min.css").read_bytes()
    page = client.get("/login", headers={"Accept-Encoding": "br"})  # pages: as before
    assert page.headers["Content-Encoding"] == "br" and b"<html" in brotli.decompress(
        page.get_data())


def test_htmx_2_and_sse_extension_are_vendored(client):
    js = client.get("/static/js/htmx.min.js").get_data(as_text=True)
    assert 'version:"2.' in js
    sse = client.get("/static/js/sse.min.js").get_data(as_text=True)
    assert "sse-connect" in sse


def test_audit_records_before_after_and_reason(app):
    actor = make_user("admin")
    target = make_user()
    changes = audit.diff(target, {"name": "Jon Smith"})
    audit.record(actor, "update", "user", target.id, changes=changes,
                 reason="Spelling correction")
    audit.viewed(actor, "user", target.id)
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "name"))
    assert entry.before.startswith("Test User") and entry.after == "Jon Smith"
    assert entry.reason == "Spelling correction" and entry.actor_id == actor.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "view"))


def test_notifications_page_lists_and_marks_read(client, auth):
    from helpline.notifications.services import notify, unread_count
    user = make_user()
    notify([user], "You have been assigned to the Helpline Interaction INT39100",
           url="/interactions/39100")
    db.session.commit()
    auth.login(user.email)
    html = client.get("/notifications").get_data(as_text=True)
    assert "INT39100" in html
    assert 'data-count="1"' in html
    resp = client.post("/notifications/read",
                       data={"csrf_token": csrf_token(client, "/notifications")},
                       follow_redirects=True)
    assert 'data-count="0"' in resp.get_data(as_text=True)
    assert unread_count(user) == 0
