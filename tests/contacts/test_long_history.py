"""A caller with a long history: the contact page pages its cases and interactions (25 a
page each, newest first) instead of loading the whole history, and loses none of it."""
from __future__ import annotations

import re
from datetime import timedelta

from helpline.cases.models import Case
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.timeutil import utcnow
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def _long_history(cases: int = 30, calls: int = 30) -> tuple[int, int]:
    seed_lists()
    sup = make_user("supervisor", email="sup@example.org")
    caller = make_contact(sup, first_name="Lorna", last_name="Longstay", phone="07700 900777")
    now = utcnow()
    for n in range(cases):
        create_case(caller, f"Case number {n:02}", sup).created_at = now - timedelta(hours=n)
    db.session.add_all([Interaction(enquirer_id=caller.id, direction="Inbound",
                                    interaction_date=now - timedelta(hours=n),
                                    notes=f"call {n}") for n in range(calls)])
    db.session.commit()
    return sup.id, caller.id


def _titles(html: str) -> list[str]:
    return re.findall(r"Case number (\d\d)", html)


def _interactions(html: str) -> list[str]:
    table = html.split('id="interactions"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'href="/interactions/(\d+)"', table)


def test_caller_cases_are_paged_newest_first_and_none_is_lost(client, auth):
    sup_id, caller_id = _long_history()
    auth.login("sup@example.org")
    first = client.get(f"/contacts/{caller_id}").get_data(as_text=True)
    assert _titles(first) == [f"{n:02}" for n in range(25)]
    assert 'aria-label="Pages of caller cases"' in first and "Page 1 of 2" in first
    assert f'href="/contacts/{caller_id}?cases_page=2"' in first
    second = client.get(f"/contacts/{caller_id}?cases_page=2").get_data(as_text=True)
    assert _titles(second) == [f"{n:02}" for n in range(25, 30)]
    assert f'href="/contacts/{caller_id}?cases_page=1"' in second
    # past the end (a link kept from a longer list) shows the last page, not "No cases yet"
    beyond = client.get(f"/contacts/{caller_id}?cases_page=9").get_data(as_text=True)
    assert _titles(beyond) == _titles(second) and "No cases yet" not in beyond
    for odd in ("²", "-1", "0", "x", "99999999999999999999"):
        assert _titles(client.get(f"/contacts/{caller_id}?cases_page={odd}")
                       .get_data(as_text=True)) == _titles(first), odd
    assert db.session.query(Case).count() == 30  # nothing changed by looking


def test_interactions_are_paged_and_each_list_keeps_the_others_page(client, auth):
    sup_id, caller_id = _long_history(cases=30, calls=60)
    auth.login("sup@example.org")
    newest = [i.id for i in db.session.query(Interaction).order_by(
        Interaction.interaction_date.desc(), Interaction.id.desc())]
    first = client.get(f"/contacts/{caller_id}").get_data(as_text=True)
    assert _interactions(first) == [str(i) for i in newest[:25]]
    assert 'aria-label="Pages of interactions"' in first and "Page 1 of 3" in first
    both = client.get(f"/contacts/{caller_id}?cases_page=2&interactions_page=3")
    html = both.get_data(as_text=True)
    assert _interactions(html) == [str(i) for i in newest[50:]]
    assert _titles(html) == [f"{n:02}" for n in range(25, 30)]
    # each list's links keep the other list where it is
    assert f"/contacts/{caller_id}?interactions_page=3&amp;cases_page=1" in html
    assert f"/contacts/{caller_id}?cases_page=2&amp;interactions_page=2" in html
    seen = set()
    for page in (1, 2, 3):
        seen |= set(_interactions(client.get(
            f"/contacts/{caller_id}?interactions_page={page}").get_data(as_text=True)))
    assert seen == {str(i) for i in newest}  # every call is on a page: none hidden


def test_a_cases_interactions_are_paged_on_the_case_page(client, auth):
    sup_id, caller_id = _long_history(cases=1, calls=0)
    case = db.session.query(Case).one()
    now = utcnow()
    db.session.add_all([Interaction(enquirer_id=caller_id, case_id=case.id, direction="Inbound",
                                    interaction_date=now - timedelta(minutes=n))
                        for n in range(27)])
    db.session.commit()
    auth.login("sup@example.org")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert len(_interactions(page)) == 25 and "Page 1 of 2" in page
    assert f'href="/cases/{case.id}?interactions_page=2"' in page
    rest = client.get(f"/cases/{case.id}?interactions_page=2").get_data(as_text=True)
    assert len(_interactions(rest)) == 2
