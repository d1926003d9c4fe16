"""Administration: lists, response-type fields, users, audit viewer, dashboard; 403s."""
import re

import pytest
from sqlalchemy import select

from helpline.auth.models import User
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.lookups.models import LookupItem, offered
from helpline.timeutil import london_to_utc, to_london, utcnow
from tests.cases.helpers import item, seed_lists
from tests.conftest import AuthActions, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user

ADMIN_URLS = ["/admin/", "/admin/users", "/admin/users/new", "/admin/users/{user}/edit",
              "/admin/lists/", "/admin/lists/signpost_category",
              "/admin/lists/response-types/{type}/fields", "/admin/mail", "/admin/jobs/failed",
              "/review/anonymise/{contact}"]


@pytest.fixture
def admin(app, client, auth):
    seed_lists()
    user = make_user("admin", name="Admin User")
    auth.login(user.email)
    return user


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_a_volunteer_gets_403_on_every_admin_url(app, admin, url):
    volunteer = make_user("volunteer")
    contact = make_contact(volunteer)
    other = app.test_client()
    AuthActions(other).login(volunteer.email)
    path = url.format(user=volunteer.id, type=item("local_response_type", "Food").id,
                      contact=contact.id)
    assert other.get(path).status_code == 403
    assert other.post(path, data={}).status_code in (400, 403, 405)


def _change(client, item_id, **data):
    url = "/admin/lists/signpost_category"
    return client.post(f"/admin/lists/items/{item_id}",
                       data={"csrf_token": csrf_token(client, url), **data})


def test_add_rename_reorder_retire(client, admin):
    url = "/admin/lists/signpost_category"
    client.post("/admin/lists/signpost_category/add",
                data={"csrf_token": csrf_token(client, url), "name": "Pet care"})
    dup = client.post("/admin/lists/signpost_category/add",
                      data={"csrf_token": csrf_token(client, url), "name": "pet care"},
                      follow_redirects=True)
    assert "already in the list" in dup.get_data(as_text=True)
    pet = item("signpost_category", "Pet care")
    _change(client, pet.id, action="rename", name="Pet care and fostering")
    _change(client, pet.id, action="up")
    housing = item("signpost_category", "Housing")
    _change(client, housing.id, action="retire")
    db.session.expire_all()
    names = [i.name for i in offered("signpost_category")]
    assert "Pet care and fostering" in names and "Housing" not in names
    assert names.index("Pet care and fostering") == len(names) - 2  # moved up one
    from helpline.audit.models import AuditEntry
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "lookup",
                                                      AuditEntry.after == "Pet care and fostering"))


def test_new_response_type_with_two_fields_is_asked_for(client, admin):
    url = "/admin/lists/local_response_type"
    client.post(f"{url}/add", data={"csrf_token": csrf_token(client, url), "name": "Pet food"})
    pet = item("local_response_type", "Pet food")
    furl = f"/admin/lists/response-types/{pet.id}/fields"
    bad = client.post(furl, data={"csrf_token": csrf_token(client, furl), "name": "Size",
                                  "kind": "choice", "choices": ""})
    assert bad.status_code == 422 and "Enter the choices" in bad.get_data(as_text=True)
    client.post(furl, data={"csrf_token": csrf_token(client, furl), "name": "Animal",
                            "kind": "choice", "choices": "Dog,Cat", "required": "1"})
    client.post(furl, data={"csrf_token": csrf_token(client, furl), "name": "Bags per week",
                            "kind": "number"})
    html = client.get(f"/cases/rows/referral-extra?i=0&referrals-0-type={pet.id}").get_data(
        as_text=True)
    assert "Animal" in html and "Bags per week (optional)" in html and ">Dog<" in html


def test_create_and_edit_a_user(client, admin, auth):
    url = "/admin/users/new"
    resp = client.post(url, data={"csrf_token": csrf_token(client, url), "name": "Jess Khan",
                                  "email": "jess@example.org", "role": "volunteer",
                                  "password": "long-enough-1", "team": "Night Shift"})
    assert resp.status_code == 302
    jess = db.session.scalar(select(User).where(User.email == "jess@example.org"))
    eurl = f"/admin/users/{jess.id}/edit"
    client.post(eurl, data={"csrf_token": csrf_token(client, eurl), "name": "Jess Khan",
                            "role": "supervisor", "teams": [t.id for t in jess.teams],
                            "default_team": jess.teams[0].id, "language": "Welsh",
                            "password": "another-password"})
    db.session.expire_all()
    jess = db.session.get(User, jess.id)
    assert jess.role == "supervisor" and jess.language == "Welsh"
    auth.logout()
    assert auth.login("jess@example.org", "another-password").status_code == 302


def test_dashboard_calls_by_hour_match_the_interactions(client, app):
    seed_lists()
    sup = make_user("supervisor")
    caller = make_contact(sup)
    local_now = to_london(utcnow()).replace(tzinfo=None)
    hours = sorted({max(0, local_now.hour - 2), local_now.hour})
    made = {h: 0 for h in hours}
    for n, h in enumerate([hours[0], hours[-1], hours[-1]]):
        when = london_to_utc(local_now.replace(hour=h, minute=min(n, 59), second=0,
                                               microsecond=0))
        db.session.add(Interaction(enquirer_id=caller.id, interaction_date=when,
                                   direction="Inbound", duration_mins=10 + n,
                                   method_id=item("interaction_method", "Phone Call").id))
        made[h] += 1
    db.session.commit()
    AuthActions(client).login(sup.email)
    html = client.get("/supervisor/dashboard").get_data(as_text=True)
    today = html.split('id="period-today"')[1].split("</section>")[0]
    bars = {int(h): int(c) for h, c in re.findall(r'data-hour="(\d+)" data-count="(\d+)"', today)}
    for h in range(24):
        assert bars[h] == made.get(h, 0), h
    assert "Phone Call 3" in today
    csv_text = client.get("/supervisor/dashboard.csv").get_data(as_text=True)
    assert f"Today,Calls by hour,{hours[-1]:02d}:00,{made[hours[-1]]}" in csv_text
    partial = client.get("/supervisor/dashboard", headers={"HX-Request": "true"})
    assert partial.get_data(as_text=True).startswith('<div id="dashboard"')
    # every figure links to the calls behind it
    import html as html_lib
    links = [html_lib.unescape(u) for u in re.findall(r'href="(/supervisor/calls[^"]*)"', today)]
    by_hour = next(u for u in links if f"hour={hours[-1]}" in u)

    def listed(url):
        return len(re.findall(r'href="/interactions/\d+"', client.get(url).get_data(as_text=True)))
    assert listed(by_hour) == made[hours[-1]]
    for needle in ("method=Phone", "direction=Inbound"):
        assert listed(next(u for u in links if needle in u)) == 3
    assert "3 interactions" in client.get("/supervisor/calls?period=today").get_data(as_text=True)
    assert listed("/supervisor/calls?period=week&method=Email") == 0


def test_audit_trail_viewer_filters(client, app):
    sup = make_user("supervisor", name="Sue Pervisor")
    contact = make_contact(sup)
    AuthActions(client).login(sup.email)
    html = client.get(f"/supervisor/audit?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert "create" in html and "Robert" in html
    assert make_user("volunteer")
    other = app.test_client()
    AuthActions(other).login(make_user("volunteer").email)
    assert other.get("/supervisor/audit").status_code == 403


def test_teams_with_shift_hours_and_region(client, admin):
    url = "/admin/teams"
    bad = client.post(url, data={"csrf_token": csrf_token(client, url), "name": "Evening",
                                 "shift_start": "25:00"})
    assert bad.status_code == 422 and "HH:MM" in bad.get_data(as_text=True)
    client.post(url, data={"csrf_token": csrf_token(client, url), "name": "Evening",
                           "shift_start": "17:00", "shift_end": "23:00", "region": "Wales"})
    page = client.get(url).get_data(as_text=True)
    assert "Evening" in page and "17:00–23:00" in page and "Wales" in page


def test_users_are_paged_and_found_by_part_of_a_name_or_login(app, client, admin):
    """Issue 17 (page weight): 2,000 users on one page were 384 KB; now 50 a page, active
    first, with a search by name or login that treats % and _ as text."""
    for n in range(110):
        make_user("volunteer", name=f"Volunteer {n:03d}", email=f"vol{n:03d}@example.org")
    make_user("volunteer", name="Zara 100%_Sure", email="zara@example.org", active=False)
    first = client.get("/admin/users").get_data(as_text=True)
    assert first.count('id="user-') == 50 and "Page 1 of 3" in first
    assert "112 users" in first  # the admin, 110 volunteers and Zara
    last = client.get("/admin/users?page=3").get_data(as_text=True)
    assert last.count('id="user-') == 12 and "Zara 100%_Sure" in last  # deactivated last
    found = client.get("/admin/users?q=VOLUNTEER 10").get_data(as_text=True)
    assert found.count('id="user-') == 10 and "Volunteer 105" in found
    assert client.get("/admin/users?q=zara@").get_data(as_text=True).count('id="user-') == 1
    assert client.get("/admin/users?q=%_").get_data(as_text=True).count('id="user-') == 1
    assert "No users match." in client.get("/admin/users?q=nobody").get_data(as_text=True)
    for bad in ("²", "0", "9" * 30, "-1"):
        assert client.get(f"/admin/users?page={bad}").status_code == 200, bad
