"""Interactions assigned to me: every interaction I am a handler on, newest first, paged,
saying what still needs finishing; the navigation counts the unfinished ones."""
from datetime import timedelta

from sqlalchemy import select

from helpline.audit.models import AuditEntry
from helpline.extensions import db
from helpline.interactions.models import Interaction, InteractionHandler
from helpline.timeutil import utcnow
from tests.cases.helpers import item, seed_lists
from tests.conftest import client_for
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def _calls(handler, assigner, caller, n: int, finished: set[int]) -> list[Interaction]:
    now = utcnow()
    rows = []
    for k in range(n):
        row = Interaction(enquirer_id=caller.id, direction="Inbound", interaction_date=now,
                          notes=f"call {k}", call_state_id=item("call_state", "Completed").id
                          if k in finished else None, duration_mins=10 if k in finished else None)
        db.session.add(row)
        db.session.flush()
        db.session.add(InteractionHandler(interaction_id=row.id, user_id=handler.id,
                                          assigned_by_id=assigner.id,
                                          assigned_at=now - timedelta(minutes=n - k)))
        rows.append(row)
    db.session.commit()
    return rows


def test_my_interactions_newest_first_with_what_to_finish_and_a_badge(app):
    seed_lists()
    elliot = make_user("supervisor", name="Elliot Hunter")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel")
    caller = make_contact(elliot)
    rows = _calls(angie, elliot, caller, 30, finished={29, 27})
    someone_elses = _calls(elliot, elliot, caller, 1, finished=set())[0]
    client = client_for(app, angie)
    page = client.get("/interactions/mine").get_data(as_text=True)
    assert 'id="unfinished-count" title="still to finish">28<' in page  # the badge
    assert "28 still need finishing" in page
    table = page.split('id="my-interactions"')[1]
    refs = [r.reference for r in rows]
    # newest first: the last assigned leads; 25 a page
    assert table.index(refs[29]) < table.index(refs[28]) < table.index(refs[5])
    assert refs[4] not in table and someone_elses.reference not in table
    first_row = table.split("</tr>")[1]
    assert refs[29] in first_row and "Finished" in first_row
    second_row = table.split("</tr>")[2]
    assert refs[28] in second_row and "To finish" in second_row and "Call State" in second_row
    older = client.get("/interactions/mine?page=2").get_data(as_text=True)
    assert refs[4] in older and refs[0] in older and refs[5] not in older.split(
        'id="my-interactions"')[1]
    # the list names enquirers: one audit entry naming the interactions shown
    shown = db.session.scalars(select(AuditEntry).where(
        AuditEntry.actor_id == angie.id, AuditEntry.action == "view",
        AuditEntry.record_type == "interaction")).all()
    assert len(shown) == 2 and refs[29] in shown[0].after and refs[0] in shown[1].after


def test_assigned_to_you_in_morning_review_only_when_someone_else_assigned_you(app):
    seed_lists()
    elliot = make_user("supervisor", name="Elliot Hunter")
    maggie = make_user("supervisor", name="Maggie Evans")
    caller = make_contact(elliot)
    by_maggie = _calls(elliot, maggie, caller, 1, finished=set())[0]
    own = _calls(elliot, elliot, caller, 1, finished=set())[0]
    page = client_for(app, elliot).get("/supervisor/").get_data(as_text=True)
    assert "Assigned to you (1)" in page
    group = page.split("Assigned to you (1)")[1].split("</ul>")[0]
    assert by_maggie.reference in group and own.reference not in group


def test_a_call_with_its_call_state_but_no_duration_is_counted_as_still_to_finish(app):
    """Walk finding (issue 20 review): the page said "0 still need finishing" while a row
    said "To finish: Duration (mins)". The count, the badge and the rows now agree."""
    seed_lists()
    elliot = make_user("supervisor", name="Elliot Hunter")
    angie = make_user("volunteer", name="Angie Greenaway-Samuel")
    row = _calls(angie, elliot, make_contact(elliot), 1, finished={0})[0]
    row.duration_mins = None
    db.session.commit()
    client = client_for(app, angie)
    page = client.get("/interactions/mine").get_data(as_text=True)
    assert "1 still needs finishing" in page
    assert 'id="unfinished-count" title="still to finish">1<' in page
    assert "To finish</strong> Duration (mins)" in page
    row.duration_mins = 25
    db.session.commit()
    page = client.get("/interactions/mine").get_data(as_text=True)
    assert "0 still need finishing" in page and "Finished" in page
