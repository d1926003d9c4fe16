"""Admin → Settings: the service name, consent statement and who can help with sign-in
are changed by administrators only, audited, reset to their defaults, and used."""
from __future__ import annotations

import html as html_lib

import pytest
from sqlalchemy import select, text

from helpline import site_settings
from helpline.audit.models import AuditEntry
from helpline.catcher import read_messages
from helpline.contacts.forms import CONSENT_STATEMENT
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.interactions.services import add_handlers
from helpline.site_settings import DEFAULT_CONSENT_STATEMENT, Setting
from helpline.timeutil import utcnow
from tests.conftest import AuthActions, client_for, csrf_token
from tests.contacts.helpers import make_contact
from tests.events.test_jobs_and_mail import run_jobs
from tests.factories import make_user

URL = "/admin/settings"


@pytest.fixture
def admin(app, client, auth):
    user = make_user("admin", name="Ada Admin")
    auth.login(user.email)
    return user


def _values(**kw) -> dict:
    return {"service_name": "Helpline", "consent_statement": DEFAULT_CONSENT_STATEMENT,
            "account_help": "an administrator (Admin → Users)", **kw}


def _save(client, **kw):
    return client.post(URL, data={"csrf_token": csrf_token(client, URL), **_values(**kw)})


def _page(client, path: str) -> str:
    return html_lib.unescape(client.get(path).get_data(as_text=True))


def test_the_page_shows_the_defaults(client, admin):
    html = _page(client, URL)
    assert 'value="Helpline"' in html and DEFAULT_CONSENT_STATEMENT in html
    assert "an administrator (Admin → Users)" in html
    assert "Reset to default" not in html  # nothing changed yet
    assert CONSENT_STATEMENT == DEFAULT_CONSENT_STATEMENT  # the seeds' wording stays importable


def test_a_changed_service_name_is_in_the_header_and_title(client, admin):
    resp = _save(client, service_name="Carers Line")
    assert resp.status_code == 302
    html = _page(client, "/admin/")
    assert '<a href="/" class="hl-header__service">Carers Line</a>' in html \
        or 'class="hl-header__service">Carers Line</a>' in html
    assert "– Carers Line</title>" in html
    assert "Carers Line – for staff and volunteers only" in html
    signed_out = client.application.test_client()
    assert "Sign in to Carers Line" in _page(signed_out, "/login")


def test_a_changed_service_name_is_in_a_sent_mail(app, client, admin, smtp):
    _save(client, service_name="Carers Line")
    angie = make_user("volunteer", name="Angie Ward", email="angie@example.org")
    interaction = Interaction(direction="Inbound", interaction_date=utcnow(),
                              fully_anonymous=True)
    db.session.add(interaction)
    db.session.flush()
    add_handlers(interaction, [angie], admin, "http://helpline.test/interactions/1")
    db.session.commit()
    run_jobs(app)
    mails = [m for m in read_messages(smtp["dir"]) if m["to"] == "angie@example.org"]
    assert len(mails) == 1
    assert mails[0]["subject"] == \
        f"You have been assigned to the Carers Line Interaction {interaction.reference}"
    assert "View Carers Line Interaction: http://helpline.test/interactions/1" in mails[0]["body"]


def test_a_changed_consent_statement_is_shown_on_new_contact(app, client, admin):
    statement = "We keep your details to help you. Is that all right?"
    _save(client, consent_statement=statement)
    volunteer = client_for(app, make_user("volunteer"))
    html = _page(volunteer, "/contacts/new")
    assert statement in html and DEFAULT_CONSENT_STATEMENT not in html
    caller = make_contact(admin)
    html = _page(client, f"/cases/quick-create/{caller.id}")  # a beneficiary, on the case
    assert statement in html and DEFAULT_CONSENT_STATEMENT not in html


def test_a_changed_who_can_help_is_in_the_sign_in_message(app, client, admin):
    _save(client, account_help="the duty manager on 0161 496 0000")
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 1
    user = make_user()
    other = AuthActions(app.test_client())
    other.login(user.email, "wrong")
    html = html_lib.unescape(other.login(user.email, "wrong").get_data(as_text=True))
    assert "ask the duty manager on 0161 496 0000" in html


def test_every_change_is_audited_with_before_and_after(client, admin):
    _save(client, service_name="Carers Line", account_help="the duty manager")
    entries = {e.record_id: e for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "setting"))}
    assert set(entries) == {"service_name", "account_help"}  # the unchanged one: no entry
    e = entries["service_name"]
    assert (e.actor_id, e.action, e.field, e.before, e.after) == \
        (admin.id, "update", "Service name", "Helpline", "Carers Line")
    assert entries["account_help"].before == "an administrator (Admin → Users)"
    row = db.session.get(Setting, "service_name")
    assert row.value == "Carers Line" and row.updated_by_id == admin.id
    trail = _page(client, "/supervisor/audit")
    assert "Carers Line" in trail


def test_reset_to_default(client, admin):
    _save(client, service_name="Carers Line")
    html = _page(client, URL)
    assert "Reset to default" in html
    resp = client.post(f"{URL}/reset", data={"csrf_token": csrf_token(client, URL),
                                             "key": "service_name"})
    assert resp.status_code == 302
    assert db.session.get(Setting, "service_name") is None
    assert 'class="hl-header__service">Helpline</a>' in _page(client, URL)
    reset = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reset"))
    assert (reset.record_id, reset.before, reset.after) == \
        ("service_name", "Carers Line", "Helpline")
    resp = client.post(f"{URL}/reset", data={"csrf_token": csrf_token(client, URL),
                                             "key": "no_such_setting"})
    assert resp.status_code == 404


def test_saving_the_default_value_removes_the_row(client, admin):
    _save(client, service_name="Carers Line")
    _save(client, service_name="Helpline")
    assert db.session.scalar(select(Setting)) is None


def test_an_empty_value_is_a_field_error_and_keeps_what_was_typed(client, admin):
    resp = _save(client, service_name="Carers Line", consent_statement="   ",
                 account_help="the duty manager")
    assert resp.status_code == 422
    html = html_lib.unescape(resp.get_data(as_text=True))
    assert "<title>Error: Settings" in html
    assert "There is a problem" in html
    assert "Enter the consent statement" in html
    assert 'value="Carers Line"' in html and 'value="the duty manager"' in html
    assert db.session.scalar(select(Setting)) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "setting")) is None


@pytest.mark.parametrize("field, value, message", [
    ("service_name", "x" * 61, "Service name must be 60 characters or fewer"),
    ("account_help", "x" * 201, "Who can help with sign-in must be 200 characters or fewer"),
    ("consent_statement", "x" * 2001, "Consent statement must be 2000 characters or fewer"),
    ("service_name", "\r\n\t", "Enter the service name"),
])
def test_length_limits_and_blank_values(client, admin, field, value, message):
    resp = _save(client, **{field: value})
    assert resp.status_code == 422
    assert message in html_lib.unescape(resp.get_data(as_text=True))
    assert db.session.scalar(select(Setting)) is None


def test_a_one_line_setting_stays_on_one_line(client, admin):
    _save(client, service_name="Carers\r\nBcc: x@example.org  Line\x07")
    assert db.session.get(Setting, "service_name").value == "Carers Bcc: x@example.org Line"


@pytest.mark.parametrize("role", ["volunteer", "supervisor", "data"])
def test_others_get_403_and_nothing_changes(app, role):
    other = client_for(app, make_user(role))
    assert other.get(URL).status_code == 403
    token = csrf_token(other, "/notifications")
    assert other.post(URL, data={"csrf_token": token, **_values(service_name="Hacked")}
                      ).status_code == 403
    db.session.add(Setting(key="service_name", value="Carers Line"))
    db.session.commit()
    assert other.post(f"{URL}/reset", data={"csrf_token": token, "key": "service_name"}
                      ).status_code == 403
    assert db.session.get(Setting, "service_name").value == "Carers Line"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "setting")) is None


def test_a_post_without_the_csrf_token_is_refused(client, admin):
    resp = client.post(URL, data=_values(service_name="Carers Line"))
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    resp = client.post(f"{URL}/reset", data={"key": "service_name"})
    assert resp.status_code == 400
    assert db.session.scalar(select(Setting)) is None


def test_pages_work_when_the_table_cannot_be_read(app, client, admin):
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE settings RENAME TO settings_away"))
    try:
        site_settings.invalidate()
        resp = client.get("/admin/")
        assert resp.status_code == 200
        assert 'class="hl-header__service">Helpline</a>' in resp.get_data(as_text=True)
        volunteer = client_for(app, make_user("volunteer"))
        assert DEFAULT_CONSENT_STATEMENT in _page(volunteer, "/contacts/new")
    finally:
        db.session.rollback()
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE settings_away RENAME TO settings"))


def test_other_processes_see_a_change_when_their_cache_expires(app, client, admin):
    from helpline import create_app
    other_process = create_app({**app.config, "SETTINGS_CACHE_SECONDS": 0})
    with other_process.app_context():
        assert site_settings.service_name() == "Helpline"
    _save(client, service_name="Carers Line")
    with other_process.app_context():
        assert site_settings.service_name() == "Carers Line"
        db.session.remove()


def _opened(client) -> dict:
    """The form as one administrator's tab shows it (its hidden "loaded" values)."""
    import re
    page = client.get(URL).get_data(as_text=True)
    loaded = {f"loaded_{k}": html_lib.unescape(v) for k, v in re.findall(
        r'name="loaded_([a-z_]+)" value="([^"]*)"', page)}
    return {"csrf_token": csrf_token(client, URL), **_values(), **loaded}


def test_two_administrators_do_not_undo_each_others_changes(app, client, admin):
    """Break finding: tab A, opened before tab B saved a new consent statement, saved only
    a new service name and silently put the old statement back."""
    other = client_for(app, make_user("admin", name="Otto Admin"))
    tab_a = _opened(client)
    assert other.post(URL, data={**_opened(other), "consent_statement": "Statement B"})\
        .status_code == 302
    saved = client.post(URL, data={**tab_a, "service_name": "Carers Line"})
    assert saved.status_code == 302
    site_settings.invalidate()
    assert site_settings.get("consent_statement") == "Statement B"
    assert site_settings.get("service_name") == "Carers Line"
    # editing the text someone else changed meanwhile is held back, with what it says now
    stale = client.post(URL, data={**tab_a, "consent_statement": "Statement A"})
    assert stale.status_code == 422
    assert "Someone else changed the consent statement after you opened this page" in \
        html_lib.unescape(stale.get_data(as_text=True))
    site_settings.invalidate()
    assert site_settings.get("consent_statement") == "Statement B"


def test_invisible_or_direction_changing_characters_are_removed(client, admin):
    """Break finding: "\u200b\u200b" passed as a non-empty value and "\u202eenilpleH"
    displayed as "Helpline"."""
    blank = _save(client, account_help="\u200b\u200b")
    assert blank.status_code == 422
    assert _save(client, service_name="\u202eCarers\u200b Line").status_code == 302
    site_settings.invalidate()
    assert site_settings.get("service_name") == "Carers Line"
