"""Real Chromium: sign in, see home, receive a live notification, catch up after reconnect."""
import os
import re

import pytest
from playwright.sync_api import expect

from helpline.extensions import db
from helpline.notifications.services import notify
from tests.conftest import wait_until
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def sign_in(page, live_server, user):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Wait for the signed-in page: a navigation started before it lands could race the
    # session cookie it sets (the form's CSRF token would then not match).
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.locator("form[action$='/logout']").first).to_be_attached()


def test_sign_in_and_see_the_home_page(page, live_server):
    user = make_user(name="Angie Greenaway-Samuel")
    sign_in(page, live_server, user)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("Active Contacts")
    expect(page.locator(".hl-header__user")).to_contain_text("Angie Greenaway-Samuel")


def test_wrong_password_shows_the_error_summary(page, live_server):
    user = make_user()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter a correct email address and password.")
    expect(page.get_by_label("Email")).to_have_value(user.email)
    expect(page).to_have_title(re.compile("^Error: "))


def test_live_notification_appears_and_is_replayed_after_reconnect(app, page, live_server):
    user = make_user()
    sign_in(page, live_server, user)
    broker = app.extensions["broker"]
    wait_until(lambda: broker.subscriber_count() == 1, message="page never opened its stream")
    notify([user], "You have been assigned to the Helpline Interaction INT39100")
    db.session.commit()
    live = page.locator("#live-notifications")
    # within a second; HELPLINE_LOWSPEC=1 adds Slow 3G's 2 s to every response
    expect(live).to_contain_text("INT39100", timeout=4000 if os.environ.get("HELPLINE_LOWSPEC") else 1000)
    expect(page.locator("#unread-count")).to_contain_text("1")
    # The page keeps the last id it saw in the stream URL for htmx's reconnects.
    expect(page.locator("#live")).to_have_attribute("sse-connect", re.compile(r"last_id=\d+"))

    # Cut the connection: stop the server-side stream and keep the page away while
    # two more notifications are saved, then let it reconnect.
    page.route("**/events*", lambda route: route.abort())
    page.evaluate("""() => {
        const el = document.getElementById('live');
        const src = el['htmx-internal-data'].sseEventSource;
        src.close();
        src.onerror({type: 'error'});   // what the browser reports when the link drops
    }""")
    wait_until(lambda: broker.subscriber_count() == 0, message="stream did not close")
    notify([user], "Missed one")
    notify([user], "Missed two")
    db.session.commit()
    page.unroute("**/events*")
    expect(live).to_contain_text("Missed one", timeout=10000)
    expect(live).to_contain_text("Missed two")
    expect(live.locator("li", has_text="INT39100")).to_have_count(1)  # nothing twice
