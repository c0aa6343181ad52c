"""The customer front door in Debian's chromium (selenium, headless): a customer sends files from the shop
page, sees the price and the codes; the counter window shows the jobs, the agent prints them through the
private cupsd and the status page turns "printed" by itself. Refusals are shown in words. Screenshots of
both pages at phone and desktop size go to docs/screenshots/ (looked at by a person, not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from shopdesk.server.services.shops import set_open
from tests.helpers.browser import DESKTOP, PHONE
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import make_shop, run_db


@pytest.fixture
def shots(tmp_path):
    """Where the screenshots go: docs/screenshots/ when scripts/screenshots.sh asks
    (SHOPDESK_SCREENSHOT_DIR), else a temp dir — a test run leaves the working tree alone."""
    return Path(os.environ.get("SHOPDESK_SCREENSHOT_DIR") or tmp_path / "shots")


def _dress(shop, name="Corner Copy & Print"):
    """A shop as a customer would meet it: a real name, address, phone and hours."""

    async def go(s):
        from shopdesk.server.models import Shop

        row = await s.get(Shop, shop.shop_id)
        row.name, row.address, row.phone, row.hours = name, "14 Market Road", "+91 80 4123 4567", "Mon–Sat 9:00–19:00"

    run_db(shop.server.db_url(), go)
    shop.name = name
    return shop


def _photo(path: Path) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1200, 900), (235, 200, 150))
    d = ImageDraw.Draw(img)
    for i in range(0, 1200, 60):
        d.rectangle([i, 300, i + 40, 600], fill=(40, 90 + i % 120, 160))
    img.save(path, "JPEG", quality=80)
    return path


def _wait(browser, timeout=20):
    return WebDriverWait(browser.driver, timeout)


def _cards(browser):
    return browser.driver.find_elements(By.CSS_SELECTOR, "#filelist .file")


def _card_settings(card, copies=None, sides=None, colour=None, paper=None, note=None):
    fields = card.find_elements(By.CSS_SELECTOR, "input, select")
    copies_in, sides_sel, colour_sel, paper_sel, note_in = fields
    if copies is not None:
        copies_in.clear()
        copies_in.send_keys(str(copies))
    if sides:
        Select(sides_sel).select_by_value(sides)
    if colour:
        Select(colour_sel).select_by_value(colour)
    if paper:
        Select(paper_sel).select_by_value(paper)
    if note:
        note_in.send_keys(note)


def _pick(browser, *paths: Path) -> None:
    browser.driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in paths))


def _prices_shown(browser, n: int):
    def ready(_):
        cards = _cards(browser)
        return len(cards) == n and all(c.find_element(By.CLASS_NAME, "fprice").text not in ("", "…") for c in cards)

    _wait(browser).until(ready)


def _agent(shop, cupsd, tmp_path, printer="Color"):
    env = {**os.environ, **cupsd.env, "SHOPDESK_PASSWORD": shop.staff[1]}
    return subprocess.run([sys.executable, "-m", "shopdesk.cli", "agent", "--server", shop.url,
                           "--username", shop.staff[0], "--printer", printer, "--once",
                           "--data-dir", str(tmp_path / "agent")], capture_output=True, text=True, env=env, timeout=180)


@pytest.mark.slow
def test_customer_sends_a_pdf_and_a_photo_and_follows_the_job_to_printed(browser, counter, cupsd, tmp_path, qtbot,
                                                                          shots):
    window, service, shop = counter
    _dress(shop)
    report = tmp_path / "report.pdf"
    report.write_bytes(pdf_bytes(3, text="Quarterly report"))
    photo = _photo(tmp_path / "holiday.jpg")
    d = browser.driver
    browser.size(*PHONE)
    browser.requested_urls()  # forget what came before
    d.get(f"{shop.url}/s/{shop.shop_id}")
    assert shop.name in d.find_element(By.CLASS_NAME, "shopname").text
    assert d.find_element(By.CLASS_NAME, "badge").text == "Open"
    assert "14 Market Road" in d.find_element(By.CLASS_NAME, "facts").text
    browser.screenshot(shots / "frontdoor-shop-phone.png")
    browser.size(*DESKTOP)
    browser.screenshot(shots / "frontdoor-shop-desktop.png", full_page=False)
    browser.size(*PHONE)

    _pick(browser, report, photo)
    _prices_shown(browser, 2)
    pdf_card, photo_card = _cards(browser)
    assert "3 pages" in pdf_card.text and pdf_card.find_element(By.CLASS_NAME, "fprice").text == "3.00"
    _card_settings(pdf_card, copies=2, sides="double", note="staple please")
    _card_settings(photo_card, colour="color")
    _wait(browser).until(lambda _: pdf_card.find_element(By.CLASS_NAME, "fprice").text == "6.00")  # 3 × 2 × 1.00
    assert photo_card.find_element(By.CLASS_NAME, "fprice").text == "10.00"  # 1 × colour 10.00
    assert d.find_element(By.ID, "total").text == "Total for 2 files: 16.00"
    d.find_element(By.NAME, "customer_name").send_keys("Asha Rao")
    d.find_element(By.NAME, "phone").send_keys("+91 98450 12345")
    d.find_element(By.NAME, "comment").send_keys("I'll collect at 5")
    browser.screenshot(shots / "frontdoor-send-phone.png")

    d.find_element(By.ID, "sendbtn").click()
    _wait(browser, 30).until(EC.visibility_of_element_located((By.ID, "done")))
    codes = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#done .code")]
    assert len(codes) == 2 and "Total: 16.00" in d.find_element(By.ID, "done").text
    assert d.find_element(By.ID, "send").is_displayed() is False
    _wait(browser).until(lambda _: all(d.execute_script("return arguments[0].naturalWidth", img) > 0
                                       for img in d.find_elements(By.CSS_SELECTOR, "#done img.qr")))
    browser.screenshot(shots / "frontdoor-sent-phone.png")
    hosts = {u.split("/")[2] for u in browser.requested_urls() if u.startswith("http")}
    assert hosts == {shop.url.split("/")[2]}, f"the page asked other hosts: {hosts}"

    # the counter window and GET /queue have both jobs, with the settings chosen per file
    qtbot.waitUntil(lambda: all(window.model.row_of_code(c) is not None for c in codes), timeout=10_000)
    queue = shop.get("/queue").json()
    jobs = {f["code"]: f for o in queue for f in o["files"]}
    pdf_job, photo_job = jobs[codes[0]], jobs[codes[1]]
    assert (pdf_job["original_name"], pdf_job["num_pages"], pdf_job["copies"], pdf_job["print_mode"]) == \
        ("report.pdf", 3, 2, "double")
    assert pdf_job["comment"] == "staple please — I'll collect at 5"
    assert (photo_job["original_name"], photo_job["color_mode"], photo_job["cost"]) == ("holiday.jpg", "color", 10.0)
    assert {o["customer_name"] for o in queue} == {"Asha Rao"} and {o["phone"] for o in queue} == {"+91 98450 12345"}

    # the status page, left open, follows the job to "printed" without a reload
    d.find_element(By.LINK_TEXT, "Follow this job").click()
    _wait(browser).until(EC.text_to_be_present_in_element((By.ID, "status"), "Waiting"))
    browser.screenshot(shots / "frontdoor-status-phone.png")
    d.execute_script("window.__notReloaded = true")
    r = _agent(shop, cupsd, tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{codes[0]} printed" in r.stdout, r.stdout
    _wait(browser, 20).until(EC.text_to_be_present_in_element((By.ID, "status"), "Printed — collect it at the counter"))
    assert d.execute_script("return window.__notReloaded") is True
    assert not d.find_element(By.ID, "withdraw").is_displayed()
    browser.size(*DESKTOP)
    browser.screenshot(shots / "frontdoor-status-desktop.png", full_page=False)


@pytest.mark.slow
def test_refusals_are_shown_in_words_on_the_page(browser, shop, tmp_path, shots):
    _dress(shop)
    big = tmp_path / "scan.pdf"
    with open(big, "wb") as f:
        f.truncate(21 * 2**20)  # over the 20 MB a file may have
    fake = tmp_path / "notes.pdf"
    fake.write_text("this is only text, not a PDF")
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(pdf_bytes(2, password="s3cret"))
    d = browser.driver
    browser.size(*DESKTOP)
    d.get(f"{shop.url}/s/{shop.shop_id}")
    _pick(browser, big, fake, secret)
    _prices_shown(browser, 3)
    big_card, fake_card, secret_card = _cards(browser)
    assert "'scan.pdf' is 21.0 MB; this shop takes files up to 20.0 MB" in big_card.text
    assert "'notes.pdf' is not a PDF, PNG, JPEG, Word or PowerPoint file" in fake_card.text
    assert "secret.pdf" in secret_card.text and "password" in secret_card.text.lower()
    assert all("bad" in c.get_attribute("class") for c in (big_card, fake_card, secret_card))
    browser.screenshot(shots / "frontdoor-refusals-desktop.png")
    d.find_element(By.ID, "sendbtn").click()
    assert "Some files cannot be sent" in d.find_element(By.ID, "error").text
    assert shop.get("/queue").json() == []

    # the shop closes while the page is open: the upload is refused in words, then the page says closed
    for card in _cards(browser):
        card.find_element(By.CSS_SELECTOR, "button.link").click()
    ok = tmp_path / "ok.pdf"
    ok.write_bytes(pdf_bytes(1))
    _pick(browser, ok)
    _prices_shown(browser, 1)
    run_db(shop.server.db_url(), lambda s: set_open(s, shop_id=shop.shop_id, is_open=False))
    d.find_element(By.ID, "sendbtn").click()
    _wait(browser).until(EC.text_to_be_present_in_element((By.ID, "error"), "is closed right now"))
    d.refresh()
    assert "Closed right now" in d.find_element(By.TAG_NAME, "main").text
    assert not d.find_elements(By.ID, "send")
    browser.size(*PHONE)
    browser.screenshot(shots / "frontdoor-closed-phone.png")
    assert shop.get("/queue").json() == []


@pytest.mark.slow
def test_withdraw_asks_first_and_is_refused_in_words_once_printing(browser, live_server):
    shop = make_shop(live_server)
    a = shop.upload(pdf_bytes(1), name="draft.pdf")["files"][0]
    b = shop.upload(pdf_bytes(1), name="final.pdf")["files"][0]
    d = browser.driver
    browser.size(*PHONE)

    d.get(f"{shop.url}/j/{a['code']}")
    d.find_element(By.CSS_SELECTOR, "#withdraw button").click()
    d.switch_to.alert.dismiss()  # "No": nothing happens
    assert "Waiting" in d.find_element(By.ID, "status").text
    assert shop.get(f"/file/{a['code']}").json()["status"] == "uploaded"
    d.find_element(By.CSS_SELECTOR, "#withdraw button").click()
    alert = d.switch_to.alert
    assert a["code"] in alert.text
    alert.accept()
    _wait(browser).until(EC.text_to_be_present_in_element((By.ID, "status"), "Withdrawn"))
    assert shop.get(f"/file/{a['code']}").json()["status"] == "withdrawn"

    d.get(f"{shop.url}/j/{b['code']}")
    shop.post(f"/queue/{b['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 1"})
    d.find_element(By.CSS_SELECTOR, "#withdraw button").click()  # before the page noticed
    d.switch_to.alert.accept()
    _wait(browser).until(EC.text_to_be_present_in_element(
        (By.ID, "error"), "Not withdrawn: Cannot withdraw this job: it is already printing at Counter 1."))
    _wait(browser).until(EC.text_to_be_present_in_element((By.ID, "status"), "Printing now"))
    assert shop.get(f"/file/{b['code']}").json()["status"] == "printing"


@pytest.mark.slow
def test_a_word_file_shows_its_converted_page_count_and_its_pages_before_sending(browser, shop, tmp_path):
    import io

    import requests
    from pypdf import PdfReader

    from tests.helpers.documents import docx_bytes

    essay = tmp_path / "essay.docx"
    essay.write_bytes(docx_bytes(3))
    d = browser.driver
    browser.size(*PHONE)
    d.get(f"{shop.url}/s/{shop.shop_id}")
    _pick(browser, essay)
    _prices_shown(browser, 1)
    [card] = _cards(browser)
    assert "3 pages (converted from Word) × 1 copy" in card.text
    link = card.find_element(By.CSS_SELECTOR, "a.preview")
    assert link.text == "Check the pages"
    pdf = requests.get(link.get_attribute("href"), timeout=10)
    assert pdf.headers["content-type"] == "application/pdf" and len(PdfReader(io.BytesIO(pdf.content)).pages) == 3
    d.find_element(By.ID, "sendbtn").click()
    _wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "Sent"))
    assert "(converted from Word)" in d.find_element(By.TAG_NAME, "main").text
    [job] = [f for o in shop.get("/queue").json() for f in o["files"]]
    assert job["original_name"] == "essay.docx" and job["num_pages"] == 3 and job["source_type"] == "word"
