"""Benchmark of the customer front door, with the plain API beside it in the same run.

  .venv/bin/python bench/frontdoor.py [--rounds 20] [--database-url URL]

- First load of /s/{shop} in a fresh headless chromium (Debian's chromium + chromedriver): bytes on the
  wire (every response's encoded length, headers included, from the browser's own network events), the
  number of requests and the hosts asked (target: <= 100 KB, this server only).
- "Send" → the job on the counter: a customer's browser presses Send on the page (one 3-page PDF, its
  price already shown) and the counter's queue watcher (the long-poll the counter window's queue is fed
  from) sees the new job. Beside it, the same file sent by a plain `POST /upload` from Python to the same
  watcher, without and with an Idempotency-Key (the page sends one). Rounds alternate; median and p95
  (target: p95 <= 1 s on loopback).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._util import pct  # noqa: E402

LIMITS = {"SHOPDESK_UPLOAD_RATE_PER_MIN": "1000000", "SHOPDESK_LOGIN_RATE_PER_MIN": "1000000",
          "SHOPDESK_ANON_RATE_PER_MIN": "1000000", "SHOPDESK_AUTH_RATE_PER_MIN": "1000000"}


def load(browser, url: str, *, empty_cache: bool = True) -> tuple[int, int, set[str]]:
    """(bytes, requests, hosts) of loading `url` (with an empty cache: a customer's first visit)."""
    d = browser.driver
    d.execute_cdp_cmd("Network.enable", {})
    if empty_cache:
        d.execute_cdp_cmd("Network.clearBrowserCache", {})
    browser.driver.get_log("performance")  # forget earlier events
    d.get(url)
    time.sleep(1.0)  # let every subresource finish (the page has two)
    total, requests_, hosts = 0, 0, set()
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            requests_ += 1
            u = msg["params"]["request"]["url"]
            hosts.add(u.split("/")[2] if u.startswith("http") else u.split(":")[0])
        elif msg.get("method") == "Network.loadingFinished":
            total += int(msg["params"]["encodedDataLength"])
    return total, requests_, hosts


class Watch:
    """The counter's QueueWatcher; `wait_new()` returns when a file id not seen before shows up."""

    def __init__(self, client):
        from shopdesk.client.watcher import QueueWatcher

        self.seen: set[int] = set()
        self.new = threading.Event()
        self.at = 0.0
        self._first = threading.Event()
        self.watcher = QueueWatcher(client, self._change)
        self.watcher.start()
        self._first.wait(10)

    def _change(self, change) -> None:
        ids = {j["file_id"] for o in change.orders for j in o["files"]}
        if self._first.is_set() and ids - self.seen:
            self.at = time.perf_counter()
            self.new.set()
        self.seen |= ids
        self._first.set()

    def arm(self) -> None:
        self.new.clear()

    def wait_new(self, timeout: float = 15.0) -> float:
        if not self.new.wait(timeout):
            raise TimeoutError("the counter never saw the job")
        return self.at

    def stop(self) -> None:
        self.watcher.stop(timeout=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--database-url")
    args = ap.parse_args()

    import requests
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from shopdesk.client.api import ShopClient
    from tests.helpers.browser import PHONE, Browser
    from tests.helpers.pdfs import pdf_bytes
    from tests.helpers.server import ServerProcess, make_shop

    tmp = Path(tempfile.mkdtemp(prefix="bench-frontdoor-"))
    server = ServerProcess(tmp / "server", database_url=args.database_url, env=LIMITS).start()
    browser = Browser()
    try:
        shop = make_shop(server)
        browser.size(*PHONE)
        page = f"{server.url}/s/{shop.shop_id}"
        size, n, hosts = load(browser, page)
        print(f"first load of /s/{{id}}: {size / 1024:.1f} KB in {n} requests; hosts asked: {sorted(hosts)}")
        again, sn, _ = load(browser, page, empty_cache=False)
        print(f"next load (stylesheet and script cached): {again / 1024:.1f} KB in {sn} requests")

        pdf = tmp / "three.pdf"
        pdf.write_bytes(pdf_bytes(3))
        client = ShopClient(server.url)
        client.login(*shop.staff)
        watch = Watch(client)
        page_ms, api_ms, key_ms, xhr_ms = [], [], [], []
        d = browser.driver
        for i in range(args.rounds):
            # the browser: page loaded and the file's price shown (not timed), then Send → on the counter
            d.get(page)
            d.find_element(By.ID, "files").send_keys(str(pdf))
            WebDriverWait(d, 15).until(lambda _: d.find_element(By.CSS_SELECTOR, "#filelist .fprice").text == "3.00")
            d.execute_script("document.getElementById('sendbtn').addEventListener('click', function () {"
                             " window.__clickAt = performance.now(); }, true);")
            watch.arm()
            t0 = time.perf_counter()
            d.find_element(By.ID, "sendbtn").click()
            page_ms.append((watch.wait_new() - t0) * 1000)
            WebDriverWait(d, 15).until(lambda _: d.find_element(By.ID, "done").is_displayed())
            xhr_ms.append(d.execute_script(
                "var e = performance.getEntriesByType('resource').filter(function (r) {"
                " return r.name.indexOf('/upload') > 0; }).pop(); return e ? e.responseEnd - window.__clickAt : null;")
                or 0.0)
            # the plain API, same file, same watcher
            watch.arm()
            t0 = time.perf_counter()
            r = requests.post(server.url + "/upload", data={"shop_id": str(shop.shop_id)},
                              files=[("files[]", ("three.pdf", pdf.read_bytes(), "application/pdf"))], timeout=30)
            assert r.status_code == 200, r.text
            api_ms.append((watch.wait_new() - t0) * 1000)
            # …and with an Idempotency-Key, as the page sends it
            watch.arm()
            t0 = time.perf_counter()
            r = requests.post(server.url + "/upload", data={"shop_id": str(shop.shop_id)},
                              headers={"Idempotency-Key": f"bench-{i}-{time.time_ns()}"},
                              files=[("files[]", ("three.pdf", pdf.read_bytes(), "application/pdf"))], timeout=30)
            assert r.status_code == 200, r.text
            key_ms.append((watch.wait_new() - t0) * 1000)
        watch.stop()
        for name, v in (("page: Send → on the counter", page_ms), ("POST /upload → on the counter", api_ms),
                        ("… with Idempotency-Key", key_ms), ("(in the page: click → answer)", xhr_ms)):
            print(f"{name:32s} median {pct(v, 50):7.1f} ms  p95 {pct(v, 95):7.1f} ms  max {max(v):7.1f} ms "
                  f"({len(v)} rounds)")
    finally:
        browser.quit()
        server.stop()


if __name__ == "__main__":
    main()
