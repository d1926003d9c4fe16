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
