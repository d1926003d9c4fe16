"""Every link in the main navigation says where it goes: no two share a name (a screen
reader's list of links, or a keyboard user, cannot tell "Assigned to me" from "Assigned to
me"). Walk-review finding of issue 15: the interactions list and the case queue had one name."""
import re
from collections import Counter

import pytest

from helpline.extensions import db
from tests.conftest import client_for
from tests.factories import make_user

LINK = re.compile(r'<a class="hl-nav__link"[^>]*>(.*?)</a>', re.S)
TAG = re.compile(r"<[^>]+>")


def _names(html: str) -> list[str]:
    nav = html.split('<nav aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    # the link's words, without its count badge
    return [re.sub(r"\s+\d+$", "", " ".join(TAG.sub(" ", m).split())) for m in LINK.findall(nav)]


@pytest.mark.parametrize("role", ["volunteer", "supervisor", "data", "admin"])
def test_navigation_link_names_are_unique(app, role):
    user = make_user(role)
    user.morning_reviewer = role == "volunteer"  # Morning Review's link too
    db.session.commit()
    names = _names(client_for(app, user).get("/").get_data(as_text=True))
    assert "Interactions assigned to me" in names or role == "admin"
    assert [n for n, k in Counter(names).items() if k > 1] == []
