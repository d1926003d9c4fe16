"""The error summary (written once, in base.html): every link in it goes to an element on
the page, and the title starts "Error:" (walk finding: the summary's "Choose the Nature of
Enquiry" linked to #nature, which no element had)."""
import re

import pytest

from tests.cases.helpers import seed_lists
from tests.conftest import csrf_token
from tests.factories import make_user


@pytest.mark.parametrize("url", ["/callback-requests/new", "/interactions/new"])
def test_every_summary_link_goes_to_an_element_on_the_page(app, client, auth, url):
    seed_lists()
    auth.login(make_user("volunteer", name="Vol Unteer", team="Call Back Team").email)
    resp = client.post(url, data={"csrf_token": csrf_token(client, url)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<title>Error: " in page
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    targets = re.findall(r'href="#([^"]+)"', summary)
    assert targets
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    assert [t for t in targets if t not in ids] == []
    assert page.count('class="govuk-error-summary"') == 1


def test_the_case_screen_has_no_duplicate_ids(app, client, auth):
    """Walk finding: Save, Assign and Resolve were all id="submit"."""
    from collections import Counter

    from helpline.cases.services import create_case
    from helpline.extensions import db
    from tests.contacts.helpers import make_contact
    seed_lists()
    owner = make_user("supervisor", name="Elliot Hunter")
    case = create_case(make_contact(owner), "Laptop will not start", owner)
    db.session.commit()
    auth.login(owner.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="assign-submit"' in page and 'id="resolve-submit"' in page
    twice = [i for i, n in Counter(re.findall(r'\sid="([^"]+)"', page)).items() if n > 1]
    assert twice in ([], ["csrf_token"])  # each form's hidden token (no label points at it)
