"""The lookup lists offered on the case screen are cached per process (lookups/cache.py):
an administrator's change is offered by the very next request, in the process that made
it and in one still holding the lists it read before the change."""
import re

import pytest

from helpline.extensions import db
from helpline.lookups import cache
from helpline.lookups.models import LookupItem
from tests.cases.helpers import item, seed_lists
from tests.conftest import AuthActions, csrf_token
from tests.factories import make_user

LIST_URL = "/admin/lists/signpost_category"


def offered_categories(client) -> list[str]:
    """The categories a new Local Signpost row offers (htmx, as the + Add button asks)."""
    resp = client.get("/cases/rows/signpost", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', resp.get_data(as_text=True))


@pytest.fixture
def people(app, client):
    seed_lists()
    admin, volunteer = make_user("admin"), make_user("volunteer")
    AuthActions(client).login(admin.email)
    other = app.test_client()
    AuthActions(other).login(volunteer.email)
    return client, other


def _admin_changes(client) -> None:
    client.post(f"{LIST_URL}/add", data={"csrf_token": csrf_token(client, LIST_URL),
                                         "name": "Pet care"})
    client.post(f"/admin/lists/items/{item('signpost_category', 'Housing').id}",
                data={"csrf_token": csrf_token(client, LIST_URL), "action": "retire"})


def test_an_admins_change_is_offered_by_the_next_request_of_this_process(app, people):
    admin, volunteer = people
    before = offered_categories(volunteer)  # the lists are now cached
    assert "Housing" in before and "Pet care" not in before
    _admin_changes(admin)
    after = offered_categories(volunteer)
    assert "Housing" not in after and after[-1] == "Pet care"
    assert after == [i.name for i in LookupItem.query.filter_by(
        list_name="signpost_category", retired=False).order_by(LookupItem.position)]


def test_a_process_holding_the_old_lists_offers_the_new_ones_next_request(app, people):
    admin, volunteer = people
    offered_categories(volunteer)
    held = app.extensions["lookups_cache"]  # what another process read before the change
    assert "Housing" in [i.name for i in held.items["signpost_category"]]
    _admin_changes(admin)
    app.extensions["lookups_cache"] = held  # that process never saw the change being made
    after = offered_categories(volunteer)
    assert "Housing" not in after and "Pet care" in after
    cache.forget()  # a process started after the change (nothing read yet)
    assert offered_categories(volunteer) == after


def test_a_change_rolled_back_is_never_offered(app, people):
    _, volunteer = people
    offered_categories(volunteer)
    db.session.add(LookupItem(list_name="signpost_category", name="Never saved", position=99))
    db.session.flush()
    assert "Never saved" in [i.name for i in cache.offered_items("signpost_category")]
    db.session.rollback()
    assert "Never saved" not in offered_categories(volunteer)


def test_a_new_extra_field_is_asked_for_after_the_fields_were_cached(app, people):
    admin, volunteer = people
    food = item("local_response_type", "Food")
    extra = f"/cases/rows/referral-extra?i=0&referrals-0-type={food.id}"
    assert "Pets in household" not in volunteer.get(extra).get_data(as_text=True)
    url = f"/admin/lists/response-types/{food.id}/fields"
    admin.post(url, data={"csrf_token": csrf_token(admin, url), "name": "Pets in household",
                          "kind": "number"})
    assert "Pets in household (optional)" in volunteer.get(extra).get_data(as_text=True)


def test_a_bulk_change_outside_the_admin_pages_is_offered_next_request(app, people):
    """Break finding: an ORM UPDATE statement (a script, a bulk retire) never bumped the
    version, so every process kept offering a retired item until restarted."""
    from sqlalchemy import update
    admin, volunteer = people
    assert "Housing" in offered_categories(volunteer)
    held = app.extensions["lookups_cache"]  # what another process read before the change
    db.session.execute(update(LookupItem).where(LookupItem.list_name == "signpost_category",
                                                LookupItem.name == "Housing")
                       .values(retired=True))
    db.session.commit()
    app.extensions["lookups_cache"] = held  # that process never saw the statement run
    assert "Housing" not in offered_categories(volunteer)
