"""Browser-test fixtures: the low-spec throttling (Chromium's own CPU and network emulation).

`HELPLINE_LOWSPEC=1` runs every browser test on a throttled page, as an old PC on a slow link
would see the app:

    HELPLINE_LOWSPEC=1 .venv/bin/python -m pytest -p no:cacheprovider tests/browser

`tests/browser/test_lowspec.py` applies the same throttling to its own page in every run.
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import BrowserContext, Page

LOW_SPEC = os.environ.get("HELPLINE_LOWSPEC") == "1"

CPU_SLOWDOWN = 6
# Chrome DevTools' "Slow 3G" preset (called "3G" since Chrome 126), copied from
# ChromeDevTools/devtools-frontend front_end/core/sdk/NetworkManager.ts, Slow3GConditions:
#   download: 500 * 1000 / 8 * .8   (~500 kbit/s, in bytes/s)
#   upload:   500 * 1000 / 8 * .8
#   latency:  400 * 5               (a 400 ms RTT target; DevTools adds 2 s to each request)
SLOW_3G = {"offline": False, "latency": 400 * 5,
           "downloadThroughput": 500 * 1000 / 8 * .8, "uploadThroughput": 500 * 1000 / 8 * .8}


def throttle(page: Page, network: bool = True, cpu: bool = True):
    """Slow this page's renderer CPU ×6 and its network to Slow 3G; returns the CDP session."""
    cdp = page.context.new_cdp_session(page)
    if cpu:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    if network:
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    page._helpline_throttle = cdp  # the emulation lasts as long as the session
    return cdp


def unthrottle(page: Page) -> None:
    """Back to full speed (e.g. for set-up steps that are not being measured)."""
    cdp = page._helpline_throttle
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


@pytest.fixture(autouse=True)
def _lowspec_everywhere(request, monkeypatch):
    """With HELPLINE_LOWSPEC=1, every page a browser test opens is throttled.

    Wrapping BrowserContext.new_page covers pytest-playwright's `page` and the pages tests
    open themselves with browser.new_context().new_page().
    """
    if not LOW_SPEC:
        yield
        return
    original = BrowserContext.new_page

    def new_page(self, *args, **kwargs):
        page = original(self, *args, **kwargs)
        throttle(page)
        return page
    monkeypatch.setattr(BrowserContext, "new_page", new_page)
    yield
