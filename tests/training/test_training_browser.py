"""The training site in Chromium: the banner stays in view on every page a trainee opens,
the header is another colour, and the live site shows neither."""
import re

import pytest
from playwright.sync_api import expect

from helpline.training.scenarios import PRACTICE_PASSWORD, VOLUNTEER
from tests.browser.test_browser import sign_in
from tests.conftest import LiveServer
from tests.factories import make_user

pytestmark = pytest.mark.browser

BANNER = "TRAINING — practice data only"


def test_the_training_site_is_unmistakable_and_the_live_one_has_no_banner(
        app, browser, live_server, training_app):
    with training_app.app_context():
        result = training_app.test_cli_runner().invoke(args=["training-reset"])
    assert result.exit_code == 0, result.output
    training = LiveServer(training_app)
    try:
        page = browser.new_context().new_page()
        page.goto(training.url + "/login")
        expect(page).to_have_title(re.compile(r"^TRAINING – Sign in"))
        expect(page.get_by_text("Training site — practice data only")).to_be_visible()
        page.get_by_label("Email").fill(VOLUNTEER)
        page.get_by_label("Password", exact=True).fill(PRACTICE_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        header = page.locator("header.hl-header")
        expect(header).to_have_css("background-color", "rgb(111, 44, 145)")
        page.get_by_role("link", name="Scenarios", exact=True).first.click()
        expect(page.get_by_role("heading", name="Scenario 3: A call back at an agreed time")) \
            .to_be_visible()
        page.get_by_role("link", name="Open Tomasz Wrona's contact").click()
        expect(page).to_have_url(re.compile(r"/contacts/\d+$"))
        for path in ("/contacts/new", "/callbacks/", "/notifications"):
            page.goto(training.url + path)
            banner = page.get_by_role("region", name="Training site")
            expect(banner).to_contain_text(BANNER)
            page.mouse.wheel(0, 3000)  # still in view when the page scrolls
            expect(banner).to_be_in_viewport()
    finally:
        training.stop()

    live = browser.new_context().new_page()
    sign_in(live, live_server, make_user("volunteer"))
    expect(live.locator("header.hl-header")).to_have_css("background-color", "rgb(29, 60, 90)")
    expect(live.get_by_text(BANNER)).to_have_count(0)
    expect(live).not_to_have_title(re.compile("TRAINING"))
