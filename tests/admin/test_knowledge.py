"""Knowledge articles (search from any page) and the directory of local organisations."""
from sqlalchemy import select

from helpline.extensions import db
from helpline.knowledge.models import Organisation
from tests.cases.helpers import item, seed_lists
from tests.conftest import AuthActions, csrf_token
from tests.factories import make_user


def test_admin_writes_an_article_and_handlers_find_it_as_they_type(app, client, auth):
    admin = make_user("admin")
    auth.login(admin.email)
    url = "/admin/knowledge"
    bad = client.post(url, data={"csrf_token": csrf_token(client, url), "title": "", "body": ""})
    assert bad.status_code == 422 and "Enter a title" in bad.get_data(as_text=True)
    client.post(url, data={"csrf_token": csrf_token(client, url),
                           "title": "Password reset for the benefits portal",
                           "body": "Ask the caller to use 'Forgotten password'.",
                           "tags": "benefits, login"})
    volunteer = app.test_client()
    AuthActions(volunteer).login(make_user("volunteer").email)
    fragment = volunteer.get("/knowledge/?kq=benefit pass", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.startswith('<div id="knowledge-results"') and "Password reset" in html
    assert "No articles match" in volunteer.get("/knowledge/?kq=zebra").get_data(as_text=True)
    assert 'name="kq"' in volunteer.get("/").get_data(as_text=True)  # the header search box
    assert volunteer.get("/admin/knowledge").status_code == 403


def test_directory_by_category_and_region(app, client, auth):
    seed_lists()
    auth.login(make_user("admin").email)
    url = "/admin/directory"
    food = item("signpost_category", "Food banks")
    for name, region in (("Brum Food Bank", "West Midlands"), ("London Larder", "London"),
                         ("National Food Line", "")):
        client.post(url, data={"csrf_token": csrf_token(client, url), "name": name,
                               "category_id": food.id, "region": region, "phone": "0121 496 0000"})
    assert len(db.session.scalars(select(Organisation)).all()) == 3
    html = client.get(f"/directory?category={food.id}&region=West Midlands",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Brum Food Bank" in html and "National Food Line" in html and "London Larder" not in html


def test_retiring_a_unicode_digit_organisation_is_a_404_not_a_500(app, client, auth):
    """"²" passes str.isdigit() but not int(): a crafted Retire finds nothing."""
    auth.login(make_user("admin").email)
    url = "/admin/directory"
    for bad in ("²", "9" * 30):
        resp = client.post(url, data={"csrf_token": csrf_token(client, url), "retire": bad})
        assert resp.status_code == 404, bad
