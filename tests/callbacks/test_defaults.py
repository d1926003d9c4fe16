"""Issue 14, point 2: Start and End from all three worked examples of seed 001, and
informal reminders set weeks ahead with Start only."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpline.callbacks import services
from helpline.callbacks.models import CallBack
from helpline.extensions import db
from helpline.timeutil import london_format, utcnow
from tests.callbacks.test_callbacks import london, post_cb, world  # noqa: F401 (fixture)

EXAMPLES = [
    # (call received, agreed time, Start, End) exactly as the seed gives them
    ("01/04/2014 09:30", "01/04/2014 14:00", "01/04/2014 13:30", "02/04/2014 09:30"),
    ("01/04/2014 09:30", "", "02/04/2014 09:00", "02/04/2014 09:30"),
    ("23/10/2014 11:20", "25/10/2014 18:00", "25/10/2014 17:30", "25/10/2014 18:00"),
]


@pytest.mark.parametrize("received,agreed,start,end", EXAMPLES)
def test_the_seeds_worked_examples(received, agreed, start, end):
    got = services.default_times(london(received), london(agreed) if agreed else None)
    assert got == (london(start), london(end))


def _value(html: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1)


@pytest.mark.parametrize("received,agreed,start,end", EXAMPLES)
def test_the_form_shows_and_saves_them(client, world, received, agreed, start, end):
    html = client.get(f"/callbacks/defaults?call_received={received}&preferred={agreed}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert (_value(html, "start"), _value(html, "end")) == (start, end)
    # saved as a back-entry (2014 is in the past), with the fields the form filled in
    resp = post_cb(client, world["case"], call_received=received, preferred=agreed,
                   start=start, end=end, start_auto=start, end_auto=end, back_entry="y")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cb = db.session.scalars(select(CallBack).order_by(CallBack.id.desc())).first()
    assert (london_format(cb.start_at), london_format(cb.end_at)) == (start, end)
    page = client.get(f"/callbacks/{cb.id}").get_data(as_text=True)
    assert f'<dd class="govuk-summary-list__value" id="cb-start">{start}</dd>' in page
    assert f'<dd class="govuk-summary-list__value" id="cb-end">{end}</dd>' in page


def test_an_informal_reminder_three_weeks_ahead_saves_with_start_only(client, world):
    start = london_format(utcnow() + timedelta(weeks=3))
    resp = post_cb(client, world["case"], informal="y", start=start, end="")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cb = db.session.scalar(select(CallBack))
    assert cb.informal and london_format(cb.start_at) == start
    assert cb.end_at == cb.start_at + timedelta(minutes=30)
    assert cb.remind_at == cb.start_at - timedelta(minutes=5)


def test_a_start_typed_beyond_the_filled_in_end_moves_end(client, world):
    """Without JavaScript the form posts back the End the app filled in: still moved."""
    page = client.get(f"/callbacks/new/{world['case'].id}").get_data(as_text=True)
    filled = {n: _value(page, n) for n in ("call_received", "start", "end", "start_auto",
                                            "end_auto")}
    assert filled["end"] == filled["end_auto"] and filled["start"] == filled["start_auto"]
    start = london_format(utcnow() + timedelta(weeks=3))
    resp = post_cb(client, world["case"], **{**filled, "start": start})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cb = db.session.scalar(select(CallBack))
    assert london_format(cb.end_at) == london_format(cb.start_at + timedelta(minutes=30))


def test_live_defaults_move_end_after_a_typed_start_and_keep_it(client, world):
    received = london_format(utcnow())
    first = client.get(f"/callbacks/defaults?call_received={received}",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    start = london_format(utcnow() + timedelta(weeks=3))
    q = (f"call_received={received}&start={start}&end={_value(first, 'end')}"
         f"&start_auto={_value(first, 'start_auto')}&end_auto={_value(first, 'end_auto')}")
    html = client.get(f"/callbacks/defaults?{q}", headers={"HX-Request": "true"}
                      ).get_data(as_text=True)
    assert _value(html, "start") == start
    assert _value(html, "end") == london_format(london(start) + timedelta(minutes=30))


def test_an_end_the_handler_typed_is_kept(client, world):
    received = london_format(utcnow())
    end = london_format(utcnow() + timedelta(hours=3))
    html = client.get(f"/callbacks/defaults?call_received={received}&end={end}&end_auto=x",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert _value(html, "end") == end


def test_an_agreed_time_in_the_past_is_explained_at_the_field_and_nothing_is_lost(client,
                                                                                   world):
    agreed = london_format(utcnow() - timedelta(hours=2))
    resp = post_cb(client, world["case"], preferred=agreed,
                   description=f"{world['case'].reference} – ring about the form")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "The Preferred time agreed with the caller is in the past" in html
    assert re.search(r'id="preferred-error"[^>]*>.*?in the past', html, re.S)
    assert f'value="{agreed}"' in html and "ring about the form" in html
    assert db.session.scalar(select(func.count(CallBack.id))) == 0
