"""Page-weight audit: every main page's HTML + assets, raw and as sent, first and repeat load,
in real Chromium; htmx fragments. Targets: first load <= 80 KB, repeat <= 15 KB, fragments 5 KB.
"""

import gzip
import http.client
import time

import brotli
import common
from common import BENCH_PASSWORD, DOMAIN
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text

FIRST_MAX, REPEAT_MAX, FRAGMENT_MAX = 80 * 1024, 15 * 1024, 5 * 1024
LAUNCH = {"executable_path": "/usr/bin/chromium",
          "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run"]}


# main pages (name, path, who signs in: supervisor, data, admin or none), htmx fragments (name,
# path), and the queries for the ids they show (a case, its caller, a call back, …)
PAGES, FRAGMENTS, IDS = (common.DATA[f"page_weight_{k}"] for k in ("pages", "fragments", "ids"))


class Meter:
    """Sums Network events of one page's CDP session."""

    def __init__(self, cdp) -> None:
        self.reset()
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)

    def reset(self) -> None:
        self.urls: dict[str, dict] = {}
        self.last = time.monotonic()

    def _response(self, e) -> None:
        r = e["response"]
        self.urls[e["requestId"]] = {"url": r["url"], "type": e["type"], "status": r["status"],
                                     "raw": 0, "wire": 0, "done": False}
        self.last = time.monotonic()

    def _data(self, e) -> None:
        self.urls.get(e["requestId"], {"raw": 0})["raw"] += e["dataLength"]

    def _finished(self, e) -> None:
        self.urls.get(e["requestId"], {}).update(wire=e["encodedDataLength"], done=True)
        self.last = time.monotonic()

    def settle(self, quiet: float = 0.7, timeout: float = 10) -> None:
        """Wait until no response has started or finished for `quiet` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and time.monotonic() - self.last < quiet:
            time.sleep(0.1)

    def totals(self) -> dict:
        done = [u for u in self.urls.values() if u["done"] and "/events" not in u["url"]]
        doc = [u for u in done if u["type"] == "Document"]
        return {"requests": len(done), "wire": sum(u["wire"] for u in done),
                "raw": sum(u["raw"] for u in done),
                "html_wire": sum(u["wire"] for u in doc), "html_raw": sum(u["raw"] for u in doc),
                "status": doc[-1]["status"] if doc else None}


def measure_page(browser, base: str, path: str, cookie: str) -> dict:
    """First (empty cache) and repeat load of a page, with the session cookie given (if any)."""
    context = browser.new_context()
    context.set_default_timeout(30_000)
    context.add_cookies([{"name": k, "value": v, "url": base}
                         for k, _, v in (c.partition("=") for c in cookie.split("; ") if c)])
    page = context.new_page()
    if cookie:  # the session signed in over urllib is re-issued once to the browser: not here
        page.goto(base + "/", wait_until="load")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    meter, loads = Meter(cdp), {}
    for load in ("first", "repeat"):  # empty cache, then the same page again
        meter.reset()
        page.goto(base + path, wait_until="load")
        meter.settle()
        loads[load] = meter.totals()
    context.close()
    return loads


def measure_fragment(port: int, path: str, cookie: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie, "HX-Request": "true",
                                       "Accept-Encoding": "gzip, br"})
    resp = conn.getresponse()
    sent, enc = resp.read(), resp.getheader("Content-Encoding", "")
    conn.close()
    raw = brotli.decompress(sent) if enc == "br" else gzip.decompress(sent) if enc == "gzip" \
        else sent
    return {"status": resp.status, "raw": len(raw), "sent": len(sent), "encoding": enc or "none"}


def kb(n: float) -> str:
    return f"{n / 1024:.1f}"


def audit(base: str, port: int, url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        i = {k: conn.execute(text(sql)).scalar() for k, sql in IDS.items()}
    engine.dispose()
    results, fragment_cookie = {"pages": [], "fragments": []}, ""
    with sync_playwright() as p:
        browser = p.chromium.launch(**LAUNCH)
        for name, path, who in PAGES:  # each signed in afresh, through /login
            if "{callback}" in path and not i["callback"]:
                continue
            path = path.format(**i)
            cookie = common.http_sign_in(base, f"{who}@{DOMAIN}", BENCH_PASSWORD) if who else ""
            fragment_cookie = fragment_cookie or (cookie if who == "supervisor" else "")
            r = dict(measure_page(browser, base, path, cookie), name=name, path=path,
                     who=who or "signed out")
            results["pages"].append(r)
        browser.close()
    for name, path in FRAGMENTS:
        path = path.format(**i)
        results["fragments"].append(dict(measure_fragment(port, path, fragment_cookie),
                                         name=name, path=path))
    return results


def report(res: dict) -> None:
    """The RESULTS.md section and the target verdicts (into res), printed."""
    L = ["Real Chromium, DevTools `Network` events: *sent* = `encodedDataLength` (bytes on the "
         "wire, headers included, as the server compresses them: Flask-Compress, br/gzip); "
         "*first* = empty cache; *repeat* = the same page again in the same browser (HTML is "
         "`no-store`, static files carry a content hash and a one-year max-age). "
         "KB = 1,024 bytes.\n"]
    L += common.md_table("page | signed in as | HTML raw | HTML sent | first load raw | first "
                         "load sent | requests | repeat sent", "l l r r r r r r",
                         [(f"{r['name']} (`{r['path']}`)", r["who"],
                           *(kb(r["first"][k]) for k in ("html_raw", "html_wire", "raw", "wire")),
                           r["first"]["requests"], kb(r["repeat"]["wire"])) for r in res["pages"]])
    odd = [f"{r['name']} {r['first']['status']}" for r in res["pages"]
           if r["first"]["status"] != 200]
    L.append("\nHTML status of every page (first load): " + (", ".join(odd) or "200") + ".")
    L.append("\nhtmx fragments (`HX-Request: true`, `Accept-Encoding: gzip, br`):\n")
    L += common.md_table("fragment | raw bytes | sent bytes | encoding", "l r r l",
                         [(f"{r['name']} (`{r['path']}`)", f"{r['raw']:,}", f"{r['sent']:,}",
                           r["encoding"]) for r in res["fragments"]])
    res["verdicts"] = []
    for target, rs, limit, size in (
            ("first load ≤ 80 KB compressed", res["pages"], FIRST_MAX,
             lambda r: r["first"]["wire"]),
            ("repeat navigation ≤ 15 KB", res["pages"], REPEAT_MAX, lambda r: r["repeat"]["wire"]),
            ("fragments ≤ 5 KB (uncompressed)", res["fragments"], FRAGMENT_MAX, lambda r: r["raw"]),
            ("fragments ≤ 5 KB (as sent, compressed)", res["fragments"], FRAGMENT_MAX,
             lambda r: r["sent"])):
        worst = max(rs, key=size)
        res["verdicts"].append((target, size(worst) <= limit, f"largest {worst['name']} " + (
            f"{size(worst):,} B" if rs is res["fragments"] else f"{kb(size(worst))} KB")))
    res["markdown"] = "\n".join(L)
    common.show("page weight", res)


def main() -> None:
    args = common.options(__doc__, database_url=None, json=None)  # a database from dataset.py
    # no two-factor set-up page in the way (the audit weighs the pages, as first measured)
    with common.Stack(args.database_url, "page-weight", TWO_FACTOR_REQUIRED_ROLES="") as stack:
        stack.start()
        res = audit(stack.base_url, stack.web_port, args.database_url)
    report(res)
    common.write_json(args.json, res)


if __name__ == "__main__":
    main()
