"""Issue 14, point 2 in the browser: Start and End follow the agreed time as it is typed, and
a Start typed weeks ahead moves End (an informal reminder), then saves as shown."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpline.callbacks.models import CallBack
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.timeutil import london_format, to_london, utcnow
from tests.browser.test_browser import sign_in
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser


def _new_call_back_page(page, live_server):
    """A case owner on the New call back page of their case."""
    owner = make_user("supervisor", name="Elliot Hunter")
    case = create_case(make_contact(owner), "Benefits question", owner)
    db.session.commit()
    sign_in(page, live_server, owner)
    page.goto(live_server.url + f"/callbacks/new/{case.id}")
    return case


def _clear_preferred_on_a_slow_link(page, live_server) -> list:
    """Agree 18:00 in two days, then clear Preferred time while its answer is held back (a
    slow link); returns the held route, to be answered later."""
    _new_call_back_page(page, live_server)
    day = (to_london(utcnow()) + timedelta(days=2)).strftime("%d/%m/%Y")
    page.get_by_label("Preferred time (optional)").fill(f"{day} 18:00")
    page.get_by_label("Preferred time (optional)").press("Tab")
    expect(page.locator("#start")).to_have_value(f"{day} 17:30")
    held = []

    def slow_link(route):
        if not held:
            held.append(route)  # answered later, as a slow link would
        else:
            route.continue_()

    page.route("**/callbacks/defaults*", slow_link)
    page.get_by_label("Preferred time (optional)").fill("")
    page.get_by_label("Preferred time (optional)").press("Tab")
    for _ in range(200):  # until the browser has sent it and we hold it (at most 10 s)
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "clearing Preferred time asked for no defaults"
    return held


def test_live_defaults_follow_the_agreed_time_and_a_typed_start(app, page, live_server):
    case = _new_call_back_page(page, live_server)
    # the caller agreed 18:00 in two days: later than the 24-hour limit, so End is 18:00
    day = (to_london(utcnow()) + timedelta(days=2)).strftime("%d/%m/%Y")
    page.get_by_label("Preferred time (optional)").fill(f"{day} 18:00")
    page.get_by_label("Preferred time (optional)").press("Tab")
    expect(page.locator("#start")).to_have_value(f"{day} 17:30")
    expect(page.locator("#end")).to_have_value(f"{day} 18:00")
    # an informal reminder three weeks ahead: type Start only, End follows it
    page.get_by_label("Preferred time (optional)").fill("")
    page.get_by_label("Preferred time (optional)").press("Tab")
    start = london_format(utcnow() + timedelta(weeks=3))
    end = london_format(utcnow() + timedelta(weeks=3, minutes=30))
    page.locator("#start").fill(start)
    page.locator("#start").press("Tab")
    expect(page.locator("#end")).to_have_value(end)
    page.get_by_label("Description").fill(f"{case.reference} – update in three weeks")
    page.get_by_role("button", name="Save call back").click()
    expect(page.get_by_text(f"Call back saved for {start} – {end}.")).to_be_visible()
    cb = db.session.scalar(select(CallBack))
    assert (london_format(cb.start_at), london_format(cb.end_at)) == (start, end)


def test_a_start_typed_while_the_defaults_are_still_loading_is_kept(app, page, live_server):
    """On a slow link the answer to clearing Preferred time arrives after the volunteer has
    typed a Start: the late answer must not put the old End back (hx-sync replace)."""
    held = _clear_preferred_on_a_slow_link(page, live_server)
    start = london_format(utcnow() + timedelta(weeks=3))
    end = london_format(utcnow() + timedelta(weeks=3, minutes=30))
    page.locator("#start").fill(start)
    page.locator("#start").press("Tab")
    try:
        held[0].continue_()  # the first answer finally arrives (or was given up by htmx)
    except Exception:  # noqa: BLE001 - the browser already cancelled it
        pass
    expect(page.locator("#end")).to_have_value(end)
    expect(page.locator("#start")).to_have_value(start)


def test_an_answer_that_arrives_while_start_is_being_typed_does_not_overwrite_it(
        app, page, live_server):
    """CI finding: the answer to clearing Preferred time arrived while Start was being typed
    (before its change event) and put the default Start and End back over it. A late
    answer is now dropped and asked for again with what is on the screen."""
    held = _clear_preferred_on_a_slow_link(page, live_server)
    start = london_format(utcnow() + timedelta(weeks=3))
    end = london_format(utcnow() + timedelta(weeks=3, minutes=30))
    page.locator("#start").fill(start)  # still typing: no Tab, no change event yet
    held[0].continue_()  # the old answer arrives now
    expect(page.locator("#start")).to_have_value(start)
    expect(page.locator("#end")).to_have_value(end)


def test_an_older_answer_that_arrives_after_a_newer_request_is_dropped(app, page, live_server):
    """CI finding (7 Dec): the answer to clearing Preferred time was already on its way when
    the typed Start's change sent the next request; the older answer arrived last and put
    the defaults back over the typed Start. Each request now keeps what it was asked with,
    so the older answer is dropped. The late arrival is played with htmx's own events (a
    held route cannot reproduce it: htmx aborts the older request first)."""
    _new_call_back_page(page, live_server)
    start = london_format(utcnow() + timedelta(weeks=3))
    swapped = page.evaluate(
        """(start) => {
        const el = document.querySelector('[data-keep-typed]');
        const older = {}, newer = {};
        htmx.trigger(el, 'htmx:beforeRequest', {xhr: older});  // asked with the defaults
        document.querySelector('#start').value = start;
        htmx.trigger(el, 'htmx:beforeRequest', {xhr: newer});  // asked with the typed Start
        const late = {requestConfig: {elt: el}, xhr: older, shouldSwap: true};
        htmx.trigger(el, 'htmx:beforeSwap', late);  // the older answer arrives last
        return late.shouldSwap;
    }""", start)
    assert swapped is False
    end = london_format(utcnow() + timedelta(weeks=3, minutes=30))
    expect(page.locator("#start")).to_have_value(start)
    expect(page.locator("#end")).to_have_value(end)  # asked again with what is on screen
