"""A real browser for the customer pages: Debian's chromium driven by its chromedriver (selenium), headless.

Both come from the system packages (`chromium`, `chromium-driver` in scripts/system-packages.txt); the
driver's path is always given, so selenium-manager never runs and nothing is downloaded at run time."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)
DESKTOP = (1280, 900)


def available() -> str | None:
    """None when the browser can run here, else why not."""
    for p in (CHROMIUM, CHROMEDRIVER):
        if not Path(p).exists():
            return f"{p} is missing (apt: chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[test])"
    return None


class Browser:
    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="shopdesk-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
                    f"--user-data-dir={self.profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
            opts.add_argument(arg)
        # performance log: every request the page made (the test checks no other host is asked)
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(30)

    def size(self, width: int, height: int) -> None:
        """The viewport (not the window) becomes width × height CSS pixels."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the page; `full_page` captures all of it, not only the viewport."""
        import base64

        d = self.driver
        params = {"format": "png"}
        if full_page:
            m = d.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = m.get("cssContentSize") or m["contentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}
        data = d.execute_cdp_cmd("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def requested_urls(self) -> list[str]:
        """Every URL the browser requested since the last call (from the performance log)."""
        import json

        urls = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return urls

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
