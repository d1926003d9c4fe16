"""Must show (issue 20): a newCall for a stored caller's number in another format pops the
panel on the ringing users' open pages within a second; answer closes it on the others and
keeps it for the answerer, whose New interaction (from the panel) gets Duration and Call
State at hangup; a missed call turns into a call back in one click."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpline.callbacks.models import CallBack
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.telephony.models import Call
from tests.browser.test_accessibility import axe_violations, htmx_settled
from tests.browser.test_browser import sign_in
from tests.conftest import wait_until
from tests.telephony.helpers import pbx, ring, setup_line

pytestmark = pytest.mark.browser


def test_the_panel_pops_closes_and_feeds_the_interaction(app, client, page, browser,
                                                         live_server):
    line = setup_line()
    other = browser.new_context().new_page()
    sign_in(page, live_server, line["sam"])
    sign_in(other, live_server, line["kim"])
    wait_until(lambda: app.extensions["broker"].subscriber_count() == 2)
    sam_panel, kim_panel = (p.get_by_role("region", name="Incoming calls") for p in (page, other))

    assert ring(client, line["token"], number="447700900123").status_code == 201
    for panel in (sam_panel, kim_panel):
        expect(panel).to_contain_text("Incoming call from 07700 900123", timeout=1000)
        expect(panel).to_contain_text("Jane Smith (1 open case)", timeout=1000)

    htmx_settled(page)
    assert axe_violations(page, "#call-panel") == []  # the ringing panel, as announced
    page.reload()  # still ringing: a page opened now shows it too
    expect(sam_panel).to_contain_text("Jane Smith (1 open case)")

    pbx(client, line["token"], event="answer", callId="c1", answeringNumber="201")
    expect(kim_panel).not_to_contain_text("07700 900123")
    expect(sam_panel).to_contain_text("On the phone with 07700 900123")

    sam_panel.get_by_role("link", name="New interaction").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Interaction")
    expect(page.locator("input[name=call_id]")).to_have_value("c1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Interaction INT39001 saved.")).to_be_visible()

    pbx(client, line["token"], event="hangup", callId="c1", cause="normalClearing")

    def finished():
        db.session.expire_all()
        i = db.session.scalar(select(Interaction))
        return i is not None and i.call_state is not None and i.duration_mins is not None
    wait_until(finished)
    interaction = db.session.scalar(select(Interaction))
    assert interaction.enquirer_id == line["jane"].id
    assert interaction.call_state.name == "Completed"
    expect(sam_panel).to_contain_text("Call ended with 07700 900123")
    htmx_settled(page)
    assert axe_violations(page) == []  # the page with the answerer's panel open
    sam_panel.get_by_role("button", name="Close").click()
    expect(sam_panel).not_to_contain_text("07700 900123")
    db.session.expire_all()
    assert db.session.scalar(select(Call)).dismissed


def test_a_missed_call_becomes_a_call_back_in_one_click(app, client, page, live_server):
    line = setup_line()
    sign_in(page, live_server, line["sam"])  # Jane's case is Sam's (review H1)
    ring(client, line["token"], call_id="m1")
    pbx(client, line["token"], event="hangup", callId="m1", cause="noAnswer")
    page.get_by_role("link", name="Missed calls").click()
    row = page.locator("#missed-calls tbody tr").first
    expect(row).to_contain_text("07700 900123")
    expect(row).to_contain_text("Jane Smith")
    row.get_by_role("button", name="Create call back").click()
    expect(page.get_by_text("Created call back")).to_be_visible()
    cb = db.session.scalar(select(CallBack))
    assert cb.case_id == line["case"].id and cb.owner_id == line["sam"].id
