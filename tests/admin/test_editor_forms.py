"""Admin and knowledge editors: a refused post shows its message at the field it is about
(and keeps what was typed), saves nothing; a good post still saves."""
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from helpline.auth.models import Team, User
from helpline.extensions import db
from helpline.knowledge.models import Article, Organisation
from helpline.lookups.models import LookupItem, ResponseTypeField
from tests.cases.helpers import item, seed_lists
from tests.conftest import csrf_token
from tests.factories import make_user


VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "wbr"}


class _Page(HTMLParser):
    """Each element's text and class by id, and each input's attributes by id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.classes: dict[str, str] = {}
        self.inputs: dict[str, dict] = {}
        self._stack: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("id"):
            self.inputs[a["id"]] = a
        if tag in VOID:
            return
        if a.get("id"):
            self.text[a["id"]], self.classes[a["id"]] = "", a.get("class") or ""
        self._stack.append((tag, a.get("id")))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element_id in self._stack:
            if element_id:
                self.text[element_id] += data


def error_at(html: str, input_id: str) -> str:
    """The message shown at an input: the govuk-error-message element it is described by."""
    page = _Page(html)
    assert input_id in page.inputs, f"no input #{input_id}"
    error_id = f"{input_id}-error"
    assert error_id in page.text, f"no error message at #{input_id}"
    assert "govuk-error-message" in page.classes[error_id]
    described = page.inputs[input_id].get("aria-describedby") or ""
    assert error_id in described.split(), f"#{input_id} is not described by its message"
    return " ".join(page.text[error_id].split())


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def admin(app, client, auth):
    seed_lists()
    user = make_user("admin", name="Admin User")
    auth.login(user.email)
    return user


def post(client, url, page=None, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, page or url), **data})


def test_new_user_email_and_password_are_refused_at_their_fields(client, admin):
    url = "/admin/users/new"
    before = count(User)
    bad = post(client, url, name="Jess Khan", email="not-an-address", role="volunteer",
               password="long-enough-1")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "is not an email address" in error_at(html, "email")
    assert 'value="Jess Khan"' in html  # what was typed is kept
    short = post(client, url, name="Jess Khan", email="jess@example.org", role="volunteer",
                 password="short")
    assert "at least 12 characters" in error_at(short.get_data(as_text=True), "password")
    no_role = post(client, url, name="Jess Khan", email="jess@example.org", role="wizard",
                   password="long-enough-1")
    assert error_at(no_role.get_data(as_text=True), "role") == "Error: Choose the user's role"
    assert count(User) == before
    good = post(client, url, name="Jess Khan", email="jess@example.org", role="volunteer",
                password="long-enough-1")
    assert good.status_code == 302 and count(User) == before + 1


def test_edit_user_password_is_refused_at_the_field(client, admin):
    jess = make_user("volunteer", name="Jess Khan")
    url = f"/admin/users/{jess.id}/edit"
    bad = post(client, url, name="Jessica Khan", role="volunteer", password="short")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "at least 12 characters" in error_at(html, "password")
    assert 'value="Jessica Khan"' in html
    no_name = post(client, url, name="  ", role="volunteer")
    assert "Enter the user's full name" in error_at(no_name.get_data(as_text=True), "name")
    db.session.expire_all()
    assert db.session.get(User, jess.id).name == "Jess Khan"
    assert post(client, url, name="Jessica Khan", role="supervisor").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, jess.id).role == "supervisor"


def test_team_shift_and_name_clash_are_refused_at_their_fields(client, admin):
    url = "/admin/teams"
    before = count(Team)
    bad = post(client, url, name="Evening", shift_start="25:00")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "HH:MM" in error_at(html, "shift_start") and 'value="Evening"' in html
    assert post(client, url, name="Evening", shift_start="17:00").status_code == 302
    clash = post(client, url, name="evening")
    assert "already a team called evening" in error_at(clash.get_data(as_text=True), "name")
    assert count(Team) == before + 1


def test_list_add_rename_and_mailbox_are_refused_at_their_inputs(client, admin):
    url = "/admin/lists/signpost_category"
    before = count(LookupItem)
    empty = post(client, f"{url}/add", url, name="  ")
    assert empty.status_code == 422
    assert "Enter the name of the new item" in error_at(empty.get_data(as_text=True), "new-name")
    housing = item("signpost_category", "Housing")
    dup = post(client, f"{url}/add", url, name="housing")
    assert "already in the list" in error_at(dup.get_data(as_text=True), "new-name")
    rename = post(client, f"/admin/lists/items/{housing.id}", url, action="rename", name="")
    assert rename.status_code == 422
    assert "Enter the new name" in error_at(rename.get_data(as_text=True), f"name-{housing.id}")
    fu_url = "/admin/lists/functionally_unique_team"
    team = item("functionally_unique_team", "CSA DPU SARS")
    mailbox = post(client, f"/admin/lists/items/{team.id}", fu_url, action="mailbox",
                   mailbox="not an address")
    html = mailbox.get_data(as_text=True)
    assert "as an email address" in error_at(html, f"mailbox-{team.id}")
    assert 'value="not an address"' in html
    db.session.expire_all()
    assert count(LookupItem) == before and item("signpost_category", "Housing").name == "Housing"
    assert item("functionally_unique_team", "CSA DPU SARS").mailbox != "not an address"
    assert post(client, f"{url}/add", url, name="Pet care").status_code == 302
    assert count(LookupItem) == before + 1


def test_response_field_choices_are_asked_for_at_their_field(client, admin):
    food = item("local_response_type", "Food")
    url = f"/admin/lists/response-types/{food.id}/fields"
    before = count(ResponseTypeField)
    bad = post(client, url, name="Size", kind="choice", choices="")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Enter the choices" in error_at(html, "choices") and 'value="Size"' in html
    odd = post(client, url, name="Size", kind="colour")
    assert "Choose the kind of field" in error_at(odd.get_data(as_text=True), "kind")
    assert count(ResponseTypeField) == before
    assert post(client, url, name="Size", kind="choice", choices="S,M").status_code == 302
    assert count(ResponseTypeField) == before + 1


def test_article_title_and_text_are_asked_for_at_their_fields(client, admin):
    url = "/admin/knowledge"
    bad = post(client, url, title="Benefits portal", body=" ")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Enter the article text" in error_at(html, "body")
    assert 'value="Benefits portal"' in html
    assert count(Article) == 0
    assert post(client, url, title="Benefits portal", body="Use 'Forgotten password'."
                ).status_code == 302
    assert count(Article) == 1


def test_directory_category_is_refused_at_its_field(client, admin):
    url = "/admin/directory"
    bad = post(client, url, name="Brum Food Bank", category_id="999999")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Choose the organisation's signpost category" in error_at(html, "category_id")
    assert 'value="Brum Food Bank"' in html
    long_phone = post(client, url, name="Brum Food Bank", phone="0" * 41,
                      category_id=item("signpost_category", "Food banks").id)
    assert "Phone must be 40 characters or fewer" in error_at(
        long_phone.get_data(as_text=True), "phone")
    assert count(Organisation) == 0
    assert post(client, url, name="Brum Food Bank",
                category_id=item("signpost_category", "Food banks").id).status_code == 302
    assert count(Organisation) == 1


def test_renaming_an_item_to_a_name_the_list_has_is_refused_at_its_input(client, admin):
    """Walk finding: it was a 500 (the database's unique constraint)."""
    url = "/admin/lists/signpost_category"
    housing = item("signpost_category", "Housing")
    other = next(i for i in db.session.scalars(select(LookupItem).where(
        LookupItem.list_name == "signpost_category")) if i.id != housing.id)
    clash = post(client, f"/admin/lists/items/{other.id}", url, action="rename", name="HOUSING")
    assert clash.status_code == 422
    assert "already in the list" in error_at(clash.get_data(as_text=True), f"name-{other.id}")
    db.session.expire_all()
    assert db.session.get(LookupItem, other.id).name != "HOUSING"
    # its own name in another case is a rename, not a clash
    same = post(client, f"/admin/lists/items/{housing.id}", url, action="rename", name="housing")
    assert same.status_code == 302


def test_edit_user_password_based_on_the_new_name_is_refused_with_its_message(client, admin):
    """Break finding: update_user checked the password against the OLD name, then set_password
    checked the NEW one with no field: commit_change rolled back, placed
    nothing, and the page came back 200 with no message (before the refactor: a 500)."""
    jess = make_user("volunteer", name="Jess Khan")
    url = f"/admin/users/{jess.id}/edit"
    resp = post(client, url, name="Rosalind Vantongeren", role="volunteer",
                password="Rosalind Vantongeren 12")
    html = resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, jess.id).name == "Jess Khan"  # nothing saved (holds today)
    assert resp.status_code == 422, resp.status_code
    assert "must not be based on the person" in error_at(html, "password")
