"""Admin → Local teams (where accepted Local Referrals are mailed), and the "required" flag of
a response type's extra fields (issue 15)."""
from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.extensions import db
from helpline.knowledge.models import LocalTeam
from tests.admin.test_editor_forms import admin, count, error_at, post  # noqa: F401 (fixture)
from tests.cases.helpers import extra_field
from tests.conftest import AuthActions
from tests.factories import make_user

URL = "/admin/local-teams"


def test_a_local_team_needs_a_name_a_mailbox_and_regions_each_asked_at_its_field(client,
                                                                                    admin):
    bad = post(client, URL, name="", mailbox="not an address", regions=[])
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Enter the team's name" in error_at(html, "team_name")
    assert "Choose the region or regions the team serves" in html and 'id="regions-error"' in html
    wrong_mailbox = post(client, URL, name="Midlands cell", mailbox="not an address",
                         regions=["West Midlands"])
    assert wrong_mailbox.status_code == 422
    html = wrong_mailbox.get_data(as_text=True)
    assert "Enter the mailbox as an email address" in error_at(html, "mailbox")
    assert 'value="Midlands cell"' in html  # what was typed is kept
    assert count(LocalTeam) == 0

    good = post(client, URL, name="Midlands cell", mailbox="midlands@example.org",
                regions=["West Midlands", "East Midlands"])
    assert good.status_code == 302
    team = db.session.scalar(select(LocalTeam))
    assert team.mailbox == "midlands@example.org"
    assert team.region_names == ["East Midlands", "West Midlands"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "local team",
                                                       AuditEntry.field == "Regions served"))
    assert entry.after == "East Midlands, West Midlands" and entry.actor_id == admin.id
    page = client.get(URL).get_data(as_text=True)
    assert "Midlands cell" in page and "midlands@example.org" in page
    assert "No team serves" in page and "Scotland" in page


def test_a_region_is_served_by_one_team_and_changes_are_audited(client, admin):
    assert post(client, URL, name="Midlands cell", mailbox="midlands@example.org",
                regions=["West Midlands"]).status_code == 302
    taken = post(client, URL, name="Brum cell", mailbox="brum@example.org",
                 regions=["West Midlands"])
    assert taken.status_code == 422
    assert "West Midlands is already served by Midlands cell" in taken.get_data(as_text=True)
    assert count(LocalTeam) == 1
    team = db.session.scalar(select(LocalTeam))
    edit = f"{URL}/{team.id}"
    page = client.get(edit).get_data(as_text=True)
    assert 'value="midlands@example.org"' in page and "checked" in page
    assert post(client, edit, name="Midlands cell", mailbox="cell@example.org",
                regions=["West Midlands", "East Midlands"]).status_code == 302
    db.session.expire_all()
    team = db.session.get(LocalTeam, team.id)
    assert team.mailbox == "cell@example.org"
    assert team.region_names == ["East Midlands", "West Midlands"]
    changes = {(e.field, e.before, e.after) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "local team",
                                 AuditEntry.action == "update"))}
    assert ("Mailbox", "midlands@example.org", "cell@example.org") in changes
    assert ("Regions served", "West Midlands", "East Midlands, West Midlands") in changes


def test_only_administrators_manage_local_teams(app, admin):
    other = app.test_client()
    AuthActions(other).login(make_user("data").email)
    assert other.get(URL).status_code == 403


def test_extra_fields_ship_optional_and_an_admin_can_mark_one_required(client, admin):
    people = extra_field("Food", "People in household")
    assert not people.required  # the guide: "These fields are not mandatory"
    url = f"/admin/lists/response-types/{people.response_type_id}/fields"
    page = client.get(url).get_data(as_text=True)
    assert "People in household (number, optional)" in page and "Mark required" in page
    post(client, f"/admin/lists/response-fields/{people.id}/required", page=url, required="yes")
    db.session.expire_all()
    assert extra_field("Food", "People in household").required
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.record_type == "response type field", AuditEntry.record_id == str(people.id)))
    assert entry.field == "People in household required" and entry.after == "Yes"
    assert "Make optional" in client.get(url).get_data(as_text=True)
    post(client, f"/admin/lists/response-fields/{people.id}/required", page=url, required="no")
    db.session.expire_all()
    assert not extra_field("Food", "People in household").required
