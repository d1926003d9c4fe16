"""Low-spec check: Chromium with the CPU slowed ×6 and DevTools' Slow 3G network.

Every main page must be usable within 3 s of the navigation starting: its main form field or
control visible and enabled, and the page painted (first-contentful-paint, which waits for the
render-blocking stylesheets). Pages are measured as a handler meets them all day: the static
files (versioned, cached for a year) already in the browser cache; the pages themselves are
`no-store` and pay the full 2 s Slow 3G request latency every time. The first visit with an empty
cache is measured and printed too: it needs two round trips (the page, then its stylesheets and
the small blocking js-enabled.js in parallel), so ≥ 4 s on Slow 3G and cannot meet 3 s; the test
checks instead that every render-blocking file is asked for as soon as the page arrives (a third
blocking round trip would fail) and holds the first visit to a loose 8 s.

The 3 s target itself is a performance figure, so it is held in `benchmarks/lowspec.py`
(`make bench` runs it and reports pass/fail in RESULTS.md). Run in CI on a shared 2-core
machine, this test allows the CPU some slack but not a second round trip: a page must be
usable within 4.4 s (one Slow 3G round trip is 2 s; another blocking request would add 2 s
more). A slow page is loaded again (up to 3 tries) before the test fails; slow tries are
printed. Figures are printed with `-s`. The throttling lives in tests/browser/conftest.py;
HELPLINE_LOWSPEC=1 applies it to every browser test.
"""
from __future__ import annotations

import os
import re
import time

import pytest
from playwright.sync_api import expect

from helpline.cases.models import Signpost
from helpline.cases.services import create_case
from helpline.extensions import db
from tests.browser.conftest import CPU_SLOWDOWN, SLOW_3G, throttle
from tests.browser.test_browser import sign_in
from tests.cases.helpers import item, seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user

pytestmark = pytest.mark.browser

# seconds, warm static cache: 3.0 in benchmarks/lowspec.py; here one round trip plus CPU slack
USABLE_WITHIN = float(os.environ.get("HELPLINE_LOWSPEC_USABLE_WITHIN", "4.4"))
FIRST_VISIT_WITHIN = 8.0  # seconds, empty cache: two round trips (≈ 5 s), with room

# Polled in the page on every animation frame: when the control is on screen, enabled and the
# page has painted, return the page's own clock (milliseconds since the navigation started).
# Measuring inside the page leaves out the test driver's round trips, which the ×6 CPU slowdown
# would otherwise inflate; the wall-clock time around goto + expect is printed alongside.
_USABLE = """(selector) => {
  const el = document.querySelector(selector);
  if (!el || el.disabled || !el.getClientRects().length) return false;
  if (getComputedStyle(el).visibility === 'hidden') return false;
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  if (!paint) return false;
  const n = performance.getEntriesByType('navigation')[0];
  return {usable: performance.now(), fcp: paint.startTime, interactive: n.domInteractive,
          kb: n.encodedBodySize / 1024};
}"""


def measure(page, url: str, selector: str) -> dict:
    """Seconds from the navigation starting to `selector` usable on a painted page."""
    start = time.monotonic()
    page.goto(url, wait_until="commit")
    figures = page.wait_for_function(_USABLE, arg=selector, timeout=30_000).json_value()
    wall = time.monotonic() - start
    return {"wall": wall, "kb": figures.pop("kb"),
            **{k: v / 1000 for k, v in figures.items()}}


def report(rows: list[tuple[str, dict]]) -> str:
    lines = [f"low-spec: CPU ×{CPU_SLOWDOWN}, Slow 3G (latency {SLOW_3G['latency']} ms, "
             f"{SLOW_3G['downloadThroughput'] * 8 / 1000:.0f} kbit/s down); seconds from "
             f"navigation start",
             f"{'page':36} {'usable':>7} {'FCP':>6} {'DOM int.':>8} {'wall':>6} {'HTML KB':>8}"]
    for label, f in rows:
        interactive = f"{f['interactive']:8.2f}" if f["interactive"] else f"{'(later)':>8}"
        lines.append(f"{label:36} {f['usable']:7.2f} {f['fcp']:6.2f} {interactive} "
                     f"{f['wall']:6.2f} {f['kb']:8.1f}")
    return "\n".join(lines)


_BLOCKING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return performance.getEntriesByType('resource')
    .filter(r => r.renderBlockingStatus === 'blocking')
    .map(r => ({name: r.name, start: r.startTime, htmlEnd: n.responseEnd}));
}"""

_RESULTS = """([selector, wanted, gone]) => {
  const el = document.querySelector(selector);
  const text = el ? el.textContent : '';
  return text.includes(wanted) && !text.includes(gone) ? performance.now() : false;
}"""


def measure_again_if_slow(page, url: str, selector: str, tries: int = 3) -> dict:
    """A page fails only if it is slow `tries` loads running (the build machine is a shared
    2-core box, where one load can stall behind other work); slow tries are kept for the print."""
    earlier = []
    for _ in range(tries):
        figures = measure(page, url, selector)
        if figures["usable"] <= USABLE_WITHIN:
            break
        earlier.append(figures["usable"])
    if earlier and earlier[-1] == figures["usable"]:
        earlier.pop()
    return {**figures, "earlier": earlier}


def test_main_pages_and_a_search_are_usable_on_a_low_spec_pc(
        app, browser, live_server):
    seed_lists()
    admin = make_user("admin", name="Ada Admin")   # may open every page
    caller = make_contact(admin, first_name="Robert", last_name="Livingstone")
    for n in range(20):
        make_contact(admin, first_name=f"Caller{n}", last_name="Smith", phone=f"07700 9001{n:02}")
    case = create_case(caller, "Food and prescription", admin)
    case.signposts.append(Signpost(category_id=item("signpost_category", "Food banks").id))
    db.session.commit()
    base = live_server.url
    rows = []

    # First visit, empty cache: the sign-in page. Every stylesheet that holds up the first
    # paint must be asked for as soon as the page arrives (no @import or script chains).
    first = browser.new_context().new_page()
    throttle(first)
    rows.append(("sign-in, first visit (empty cache)", measure(first, base + "/login", "#email")))
    late = [r["name"] for r in first.evaluate(_BLOCKING) if r["start"] > r["htmlEnd"] + 500]
    first.context.close()
    assert late == [], f"render-blocking files found only after another round trip: {late}"
    assert rows[0][1]["usable"] <= FIRST_VISIT_WITHIN, report(rows)

    page = browser.new_context().new_page()
    sign_in(page, live_server, admin)               # at full speed: not what is measured
    expect(page.locator("h1")).to_have_text("Active Contacts")  # static files now cached
    throttle(page)
    pages = [  # the control a handler uses first on each page
        ("contact", f"/contacts/{caller.id}", f"a[href$='/cases/new/{caller.id}']"),
        ("new contact", "/contacts/new", "#first_name"),
        ("new case", f"/cases/new/{caller.id}", "#title"),
        ("case", f"/cases/{case.id}", "#note"),
        ("new interaction", f"/interactions/new?case_id={case.id}", "#handler_q"),
        ("new call-back request", "/callback-requests/new", "#full_name"),
        ("Morning Review", "/supervisor/", "main h1"),
        ("Active Contacts", "/", "#q"),
    ]
    for label, path, selector in pages:
        rows.append((label, measure_again_if_slow(page, base + path, selector)))

    # The call flow's first steps: type part of a name into Search this view, open the contact.
    # Like the pages, a slow try (the shared build machine) is measured again, up to 3 times.
    flow_tries = []
    for attempt in range(3):
        if attempt:
            page.goto(base + "/")
        search = page.locator("#q")
        search.press_sequentially("Living", delay=60)   # a person typing, not a paste
        typed = page.evaluate("() => performance.now()")
        found = page.wait_for_function(   # the full list (Caller… Smith) is replaced by the match
            _RESULTS, arg=["#contact-results", "Robert Livingstone", "Caller1 Smith"])
        found = (found.json_value() - typed) / 1000     # includes htmx's 300 ms typing pause
        expect(page).not_to_have_url(re.compile(r"q="))  # terms stay out of the history
        page.locator("#contact-results").get_by_role("link", name="Robert Livingstone").click()
        opened = page.wait_for_function(_USABLE, arg=f"a[href$='/cases/new/{caller.id}']",
                                        timeout=30_000).json_value()
        expect(page.locator("h1")).to_have_text("Robert Livingstone")
        flow_tries.append((found, opened))
        if found <= USABLE_WITHIN and opened["usable"] / 1000 <= USABLE_WITHIN:
            break
    found, opened = flow_tries[-1]
    text = report(rows) + (f"\nsearch: results {found:.2f}s after the last key; contact open "
                           f"and usable {opened['usable'] / 1000:.2f}s after the click")
    if len(flow_tries) > 1:
        text += "\nslow earlier search tries: " + ", ".join(
            f"{f:.2f}s/{o['usable'] / 1000:.2f}s" for f, o in flow_tries[:-1])
    retried = [f"{label} {', '.join(f'{t:.2f}s' for t in f['earlier'])}"
               for label, f in rows if f.get("earlier")]
    text += f"\nslow earlier tries, measured again: {retried}" if retried else ""
    print("\n" + text)

    slow = [f"{label}: {f['usable']:.2f}s" for label, f in rows[1:] if f["usable"] > USABLE_WITHIN]
    assert not slow, f"not usable within {USABLE_WITHIN}s on a low-spec PC: {slow}\n{text}"
    assert found <= USABLE_WITHIN, text
    assert opened["usable"] / 1000 <= USABLE_WITHIN, text
