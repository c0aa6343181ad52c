"""Auto-pause by capability, end to end (#18): the counter core reads its printers from the private cupsd
and tells the server with its heartbeat; the colour printer disabled in CUPS → after one heartbeat a
colour upload is refused in words; enabled again → accepted. No ready printer at all → the shop is
paused, and its front-door page says so."""

from __future__ import annotations

import pytest
import requests

from shopdesk.client.api import ShopClient
from shopdesk.counter import CounterCore
from shopdesk.domain.availability import COLOUR_UNAVAILABLE, PAUSED_WORDS
from shopdesk.domain.printsettings import ColorMode
from tests.helpers.counterprinters import two_printers as make_two_printers
from tests.helpers.pdfs import pdf_bytes


@pytest.fixture
def two_printers(cupsd):
    with make_two_printers(cupsd) as printers:
        yield printers


def colour_upload(shop) -> requests.Response:
    return shop.upload_response(("poster.pdf", pdf_bytes(1)), color_mode="color")


def test_colour_printer_disabled_in_cups_refuses_colour_after_one_heartbeat_and_enabled_takes_it_again(
        shop, cupsd, two_printers, tmp_path):
    client = ShopClient(shop.url, retries=1)
    client.login(*shop.staff)
    printers = two_printers
    by_name = {p.name: p for p in printers.printers()}
    assert by_name["Mono"].ok and by_name["Colour"].ok
    assert ColorMode.COLOR in by_name["Colour"].colors and ColorMode.COLOR not in by_name["Mono"].colors
    core = CounterCore(client, printers, tmp_path, counter="Counter E2E")
    try:
        assert COLOUR_UNAVAILABLE not in core.heartbeat()["unavailable"]
        assert colour_upload(shop).status_code == 200

        cupsd.disable("Colour", "Out of toner")
        try:
            after = core.heartbeat()
            assert COLOUR_UNAVAILABLE in after["unavailable"] and after["paused"] is False
            r = colour_upload(shop)
            assert r.status_code == 409 and r.json()["error"].startswith(COLOUR_UNAVAILABLE)
            assert shop.upload_response(("letter.pdf", pdf_bytes(1))).status_code == 200  # b/w still goes to Mono
            listed = shop.get("/shop/counters").json()["counters"]
            colour = next(p for c in listed if c["counter"] == "Counter E2E" for p in c["printers"] if p["name"] == "Colour")
            assert colour["ready"] is False and "Out of toner" in colour["reason"]

            cupsd.disable("Mono", "Out of paper")  # nothing is ready: paused
            try:
                assert core.heartbeat()["paused"] is True
                r = shop.upload_response(("letter.pdf", pdf_bytes(1)))
                assert r.status_code == 409 and r.json()["error"].startswith(PAUSED_WORDS)
                assert "Paused right now" in requests.get(f"{shop.url}/s/{shop.shop_id}", timeout=10).text
            finally:
                cupsd.enable("Mono")
        finally:
            cupsd.enable("Colour")

        back = core.heartbeat()
        assert back["paused"] is False and COLOUR_UNAVAILABLE not in back["unavailable"]
        assert colour_upload(shop).status_code == 200
    finally:
        core.close()


@pytest.mark.slow
def test_the_agent_heartbeats_its_own_printer_and_tells_at_once_when_it_stops(shop, cupsd, two_printers, tmp_path):
    """`shopdesk agent --printer Mono` reports Mono only (not every printer the machine has), from a thread
    of its own, and within its 10 s check when Mono stops: the shop, whose only counter it is, pauses."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, **cupsd.env, "SHOPDESK_PASSWORD": shop.staff[1]}
    proc = subprocess.Popen([sys.executable, "-m", "shopdesk.cli", "agent", "--server", shop.url,
                             "--username", shop.staff[0], "--printer", "Mono", "--counter", "Back room",
                             "--data-dir", str(tmp_path / "agent")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)

    def mono() -> dict | None:
        for c in shop.get("/shop/counters").json()["counters"]:
            if c["counter"] == "Back room" and c["printers"] is not None:
                assert [p["name"] for p in c["printers"]] == ["Mono"]
                return c["printers"][0]
        return None

    def wait_for(check, seconds: float):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            if check():
                return
            time.sleep(0.3)
        raise AssertionError(f"not within {seconds} s: {shop.get('/shop/counters').json()}")

    try:
        wait_for(lambda: (mono() or {}).get("ready") is True, 30)
        assert shop.get("/shop").json()["unavailable"][:1] == [COLOUR_UNAVAILABLE]  # Colour is not the agent's
        cupsd.disable("Mono", "Out of paper")
        wait_for(lambda: (mono() or {}).get("ready") is False, 25)  # at its next 10 s look, not in a minute
        assert shop.get("/shop").json()["paused"] is True
        cupsd.enable("Mono")
        wait_for(lambda: shop.get("/shop").json()["paused"] is False, 25)
    finally:
        cupsd.enable("Mono")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
