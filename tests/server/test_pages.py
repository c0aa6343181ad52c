"""The customer front door over HTTP (no browser): pages, their headers, the plain-form paths that work
without JavaScript, and the public URL a job's QR code carries. The browser tests are in tests/frontdoor."""

from __future__ import annotations

import io
import re

import requests

from shopdesk.server.services.shops import set_open
from tests.helpers.pdfs import pdf_bytes, png_bytes
from tests.helpers.server import ServerProcess, make_shop, run_db


def _page(url: str, **kw) -> requests.Response:
    r = requests.get(url, timeout=10, **kw)
    assert r.headers["content-type"].startswith("text/html"), r.text[:200]
    return r


def _assert_secure(r: requests.Response) -> None:
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "*" not in csp  # no other host is allowed anything
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def _no_other_host(html: str) -> None:
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), "a page refers to another host"
    assert "<script>" not in html and " style=" not in html  # nothing inline: the CSP would block it


def test_shop_page_shows_name_state_prices_and_the_form(api_shop):
    r = _page(f"{api_shop.url}/s/{api_shop.shop_id}")
    assert r.status_code == 200
    _assert_secure(r)
    _no_other_host(r.text)
    assert api_shop.name in r.text and 'class="badge open"' in r.text
    assert "<td>10.00</td>" in r.text and "<td>20.00</td>" in r.text  # colour A4, colour A3
    assert 'enctype="multipart/form-data"' in r.text and 'name="files[]"' in r.text


def test_shop_page_shows_address_phone_and_hours_only_when_set(api_shop):
    plain = _page(f"{api_shop.url}/s/{api_shop.shop_id}").text
    assert 'class="facts"' not in plain

    async def fill(s):
        from shopdesk.server.models import Shop

        shop = await s.get(Shop, api_shop.shop_id)
        shop.address, shop.phone, shop.hours = "12 <Market> Road", "+91 98450 00000", "Mon–Sat 9–19"

    run_db(api_shop.server.db_url(), fill)
    text = _page(f"{api_shop.url}/s/{api_shop.shop_id}").text
    assert "12 &lt;Market&gt; Road" in text and "+91 98450 00000" in text and "Mon–Sat 9–19" in text


def test_assets_are_served_from_the_server_itself_with_their_types(api_shop):
    page = _page(f"{api_shop.url}/s/{api_shop.shop_id}").text
    for path, kind in ((re.search(r'href="(/assets/front\.css\?v=\w+)"', page).group(1), "text/css"),
                       (re.search(r'src="(/assets/front\.js\?v=\w+)"', page).group(1), "text/javascript")):
        r = requests.get(api_shop.url + path, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert r.headers["x-content-type-options"] == "nosniff" and "immutable" in r.headers["cache-control"]
        assert not re.search(r"https?://", r.text), f"{path} refers to another host"
    assert requests.get(f"{api_shop.url}/assets/../app.py", timeout=10).status_code == 404


def test_the_json_api_also_says_nosniff_and_no_referrer(api_shop):
    r = requests.get(f"{api_shop.url}/healthz", timeout=10)
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"


def test_unknown_shop_and_job_are_pages_in_words(api_shop):
    r = _page(f"{api_shop.url}/s/999999")
    assert r.status_code == 404 and "There is no shop with number 999999" in r.text
    r = _page(f"{api_shop.url}/j/zzzzz9")
    assert r.status_code == 404 and "No job has the code" in r.text
    r = _page(f"{api_shop.url}/j/<script>x")
    assert r.status_code == 404 and "<script>x" not in r.text


def test_a_closed_shop_says_so_and_takes_nothing(api_shop):
    run_db(api_shop.server.db_url(), lambda s: set_open(s, shop_id=api_shop.shop_id, is_open=False))
    r = _page(f"{api_shop.url}/s/{api_shop.shop_id}")
    assert "Closed right now" in r.text and 'id="send"' not in r.text and 'class="badge closed"' in r.text
    sent = requests.post(f"{api_shop.url}/s/{api_shop.shop_id}", data={"shop_id": str(api_shop.shop_id)},
                         files=[("files[]", ("a.pdf", io.BytesIO(pdf_bytes(1)), "application/pdf"))], timeout=30)
    assert sent.status_code == 409 and "is closed right now" in sent.text
    assert api_shop.get("/queue").json() == []


def test_plain_form_upload_without_javascript_shows_codes_and_fills_the_queue(api_shop):
    r = requests.post(f"{api_shop.url}/s/{api_shop.shop_id}",
                      data={"shop_id": str(api_shop.shop_id), "copies": "2", "color_mode": "color",
                            "print_mode": "single", "paper_size": "A4", "customer_name": "Asha <b>",
                            "phone": "555", "comment": "by 5 pm"},
                      files=[("files[]", ("report.pdf", io.BytesIO(pdf_bytes(3)), "application/pdf")),
                             ("files[]", ("photo.png", io.BytesIO(png_bytes()), "image/png"))], timeout=30)
    assert r.status_code == 200 and "Sent — thank you" in r.text
    _assert_secure(r)
    codes = re.findall(r'<span class="code">(\w{6})</span>', r.text)
    assert len(codes) == 2
    assert "80.00" in r.text  # (3 + 1) pages × 2 copies × colour 10.00
    order = api_shop.get("/queue").json()[0]
    assert order["customer_name"] == "Asha <b>" and {f["code"] for f in order["files"]} == set(codes)
    for code in codes:
        assert f'href="/j/{code}"' in r.text and f'src="/file/{code}/qr.png"' in r.text


def test_plain_form_refusals_are_shown_in_words_on_the_form(api_shop):
    r = requests.post(f"{api_shop.url}/s/{api_shop.shop_id}", data={"shop_id": str(api_shop.shop_id)},
                      files=[("files[]", ("secret.pdf", io.BytesIO(pdf_bytes(1, password="pw")), "application/pdf"))],
                      timeout=30)
    assert r.status_code == 400 and 'role="alert">' in r.text and "secret.pdf" in r.text
    assert 'id="send"' in r.text  # the form is back, to try again
    assert api_shop.get("/queue").json() == []


def test_status_page_words_follow_the_job(api_shop):
    f = api_shop.upload(pdf_bytes(2), name="thesis.pdf")["files"][0]
    page = _page(f"{api_shop.url}/j/{f['code']}")
    _assert_secure(page)
    _no_other_host(page.text)
    assert "Waiting — number 1 in the queue" in page.text and "thesis.pdf" in page.text
    assert 'id="withdraw"' in page.text and 'http-equiv="refresh"' in page.text  # reloads itself without JS
    assert f"{api_shop.url}/j/{f['code']}" in page.text
    api_shop.post(f"/queue/{f['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 1"})
    page = _page(f"{api_shop.url}/j/{f['code']}").text
    assert "Printing now" in page and 'id="withdraw"' not in page
    api_shop.post(f"/queue/{f['file_id']}/confirm", json={})
    page = _page(f"{api_shop.url}/j/{f['code']}").text
    assert "Printed — collect it at the counter" in page and 'http-equiv="refresh"' not in page
    g = api_shop.upload(pdf_bytes(1))["files"][0]
    api_shop.post(f"/queue/{g['file_id']}/cancel", json={"reason": "The file is blank"})
    assert "Cancelled by the shop: The file is blank" in _page(f"{api_shop.url}/j/{g['code']}").text


def test_withdraw_without_javascript_asks_once_more_then_withdraws(api_shop):
    f = api_shop.upload(pdf_bytes(1))["files"][0]
    ask = requests.post(f"{api_shop.url}/j/{f['code']}/withdraw", timeout=10)
    assert ask.status_code == 200 and "Yes, withdraw it" in ask.text
    assert api_shop.get("/queue").json() != []  # asking changed nothing
    done = requests.post(f"{api_shop.url}/j/{f['code']}/withdraw?confirm=yes", timeout=10)
    assert done.status_code == 200 and "Withdrawn" in done.text  # after the redirect to the status page
    assert api_shop.get("/queue").json() == []


def test_withdraw_is_refused_in_words_once_printing_started(api_shop):
    f = api_shop.upload(pdf_bytes(1))["files"][0]
    api_shop.post(f"/queue/{f['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 1"})
    r = requests.post(f"{api_shop.url}/j/{f['code']}/withdraw?confirm=yes", timeout=10)
    assert r.status_code == 409 and "Cannot withdraw this job: it is already printing at Counter 1." in r.text


def test_root_lists_open_shops_or_sends_a_one_shop_server_to_its_shop(api_shop, tmp_path):
    r = _page(api_shop.url + "/")  # the shared test server holds many shops
    assert f'href="/s/{api_shop.shop_id}"' in r.text
    one = ServerProcess(tmp_path / "one").start()
    try:
        shop = make_shop(one)
        r = requests.get(one.url + "/", allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["location"] == f"/s/{shop.shop_id}"
    finally:
        one.stop()


def test_public_url_setting_goes_into_get_shop_and_every_job_qr_code(tmp_path):
    import cv2
    import numpy as np
    from pyzbar.pyzbar import decode

    server = ServerProcess(tmp_path / "pub", env={"SHOPDESK_PUBLIC_URL": "https://print.example.shop/"}).start()
    try:
        shop = make_shop(server)
        assert shop.get("/shop").json()["public_url"] == "https://print.example.shop"
        code = shop.upload(pdf_bytes(1))["files"][0]["code"]
        png = requests.get(f"{server.url}/file/{code}/qr.png", timeout=10).content
        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert [d.data.decode() for d in decode(img)] == [f"https://print.example.shop/j/{code}"]
    finally:
        server.stop()


def test_a_public_url_with_a_path_is_refused_at_start(tmp_path):
    import pytest

    from shopdesk.server.config import Settings, clean_public_url

    assert clean_public_url(" http://10.0.0.5:8765/ ") == "http://10.0.0.5:8765" and clean_public_url("") == ""
    for bad in ("print.example.shop", "ftp://x", "https://x/shop", "https://x?y", "https://u:p@x", "http://x:port"):
        with pytest.raises(ValueError):
            clean_public_url(bad)
    import os

    os.environ["SHOPDESK_PUBLIC_URL"] = "https://x/shop"
    try:
        with pytest.raises(SystemExit, match="SHOPDESK_PUBLIC_URL"):
            Settings.from_env(data_dir=tmp_path)
    finally:
        del os.environ["SHOPDESK_PUBLIC_URL"]


def test_rate_limits_on_pages_answer_with_a_page_in_words(tmp_path):
    server = ServerProcess(tmp_path / "limits", env={"SHOPDESK_ANON_RATE_PER_MIN": "3",
                                                      "SHOPDESK_UPLOAD_RATE_PER_MIN": "1"}).start()
    try:
        shop = make_shop(server)
        pages = [requests.get(f"{server.url}/s/{shop.shop_id}", timeout=10) for _ in range(4)]
        assert [p.status_code for p in pages] == [200, 200, 200, 429]
        last = pages[-1]
        assert last.headers["content-type"].startswith("text/html") and int(last.headers["retry-after"]) >= 1
        assert "Too many requests" in last.text and "Try again in" in last.text
        _assert_secure(last)
        form = {"shop_id": str(shop.shop_id)}
        sends = [requests.post(f"{server.url}/s/{shop.shop_id}", data=form, timeout=30,
                               files=[("files[]", ("a.pdf", io.BytesIO(pdf_bytes(1)), "application/pdf"))])
                 for _ in range(2)]
        assert [r.status_code for r in sends] == [200, 429] and "Too many uploads" in sends[1].text
        assert len(shop.get("/queue").json()) == 1  # the refused one was not queued
    finally:
        server.stop()
