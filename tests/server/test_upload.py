"""Uploads: pages, prices, codes, and the bad-input corpus (each gets a clear 4xx and loses nothing)."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest
import requests

from shopdesk.domain.codes import is_job_code
from tests.helpers.pdfs import jpeg_bytes, pdf_bytes, png_bytes

NOT_COUNTABLE = "Page count not available for this file. Please convert to PDF and upload."


def _queue_files(shop):
    return [f for o in shop.get("/queue").json() for f in o["files"]]


def test_upload_counts_pages_prices_and_queues(api_shop):
    r = api_shop.upload_response(("thesis.pdf", pdf_bytes(5)), ("photo.png", png_bytes()), ("scan.jpg", jpeg_bytes()),
                                 copies=2, color_mode="color", paper_size="A3", print_mode="double",
                                 comment="staple please", customer_name="Asha", phone="+91 98450 11223")
    assert r.status_code == 200, r.text
    body = r.json(parse_float=Decimal)
    pages = [f["num_pages"] for f in body["files"]]
    assert pages == [5, 1, 1]
    # colour A3 = 2 × 10.00 per page; 2 copies
    assert [f["cost"] for f in body["files"]] == [Decimal("200.00"), Decimal("40.00"), Decimal("40.00")]
    assert body["total_cost"] == Decimal("280.00")
    assert body["queue_position"] == 1
    assert all(is_job_code(f["code"]) for f in body["files"])
    assert '"total_cost":280.00' in r.text  # two decimals on the wire
    order = api_shop.get("/queue").json(parse_float=Decimal)[0]
    assert order["customer_name"] == "Asha" and order["comment"] == "staple please"
    assert [f["content_type"] for f in order["files"]] == ["application/pdf", "image/png", "image/jpeg"]
    assert {f["paper_size"] for f in order["files"]} == {"A3"}


def test_download_streams_the_exact_bytes_with_sha256_etag(api_shop):
    data = pdf_bytes(2)
    f = api_shop.upload(data, name="x.pdf")["files"][0]
    r = api_shop.get(f"/queue/download/{f['file_id']}")
    assert r.status_code == 200 and r.content == data
    import hashlib

    assert r.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["content-type"] == "application/pdf"
    assert api_shop.get(f"/file/{f['code']}/content").content == data


def test_encrypted_pdf_with_empty_password_is_counted(api_shop):
    f = api_shop.upload(pdf_bytes(4, password=""), name="empty-pw.pdf")["files"][0]
    assert f["num_pages"] == 4


@pytest.mark.parametrize("name,data,expect", [
    ("empty.pdf", b"", "is empty"),
    ("truncated.pdf", pdf_bytes(3)[:-400], "incomplete"),
    ("garbage.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 500 + b"\n%%EOF\n", "damaged"),
    ("locked.pdf", pdf_bytes(2, password="s3cret"), "password"),
    ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 4000, "not a PDF"),
    ("notes.docx", b"PK\x03\x04" + b"\x00" * 300, "not a PDF"),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "damaged image"),
])
def test_bad_files_are_refused_with_a_clear_message(api_shop, name, data, expect):
    before = len(_queue_files(api_shop))
    r = api_shop.upload_response((name, data))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert name in err and expect in err
    if expect != "is empty":
        assert NOT_COUNTABLE in err
    assert len(_queue_files(api_shop)) == before  # nothing half-stored


def test_one_bad_file_refuses_the_whole_upload(api_shop):
    r = api_shop.upload_response(("good.pdf", pdf_bytes(1)), ("bad.pdf", b"nope"))
    assert r.status_code == 400 and "bad.pdf" in r.json()["error"] and "good.pdf" not in r.json()["error"]
    assert _queue_files(api_shop) == []


@pytest.mark.parametrize("settings,expect", [
    ({"copies": "0"}, "copies must be from 1 to 99"),
    ({"copies": "100"}, "copies must be from 1 to 99"),
    ({"copies": "abc"}, "copies must be a whole number"),
    ({"paper_size": "A5"}, "paper_size must be one of A4, A3, Letter, Legal (got 'A5')"),
    ({"color_mode": "sepia", "print_mode": "triple"}, "print_mode must be one of single, double (got 'triple'); color_mode"),
])
def test_bad_settings_are_refused_listing_every_problem(api_shop, settings, expect):
    r = api_shop.upload_response(("a.pdf", pdf_bytes(1)), **settings)
    assert r.status_code == 400 and expect in r.json()["error"]


def _raw_multipart(shop_id: int, files: list[tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so file names reach the server exactly as given (requests would
    percent-encode control characters)."""
    b = b"hostileBoundary42"
    parts = [b"--" + b + b'\r\nContent-Disposition: form-data; name="shop_id"\r\n\r\n' + str(shop_id).encode()]
    for name, data in files:
        parts.append(b"--" + b + b'\r\nContent-Disposition: form-data; name="files[]"; filename="' + name
                     + b'"\r\nContent-Type: application/pdf\r\n\r\n' + data)
    return b"\r\n".join(parts) + b"\r\n--" + b + b"--\r\n", "multipart/form-data; boundary=" + b.decode()


def test_hostile_and_emoji_names_are_made_safe_and_kept_readable(api_shop):
    body, ctype = _raw_multipart(api_shop.shop_id, [
        (b"../../x.pdf", pdf_bytes(1)), (b"..\\..\\win.pdf", pdf_bytes(1)),
        ("Résumé 📄 final\x00\x07\t.pdf".encode(), pdf_bytes(1)), (b"/etc/passwd", pdf_bytes(1)),
        (b".hidden.pdf", pdf_bytes(1))])
    r = requests.post(api_shop.url + "/upload", data=body, headers={"Content-Type": ctype}, timeout=30)
    assert r.status_code == 200, r.text
    names = [f["original_name"] for f in r.json()["files"]]
    assert names == ["x.pdf", "win.pdf", "Résumé 📄 final.pdf", "passwd", "hidden.pdf"]
    files = api_shop.server.data_dir / "files"
    # (files/converted/ is the Word/PowerPoint conversion cache, named by hash too, and LibreOffice's profiles)
    stored = [p for p in files.rglob("*") if p.is_file() and p.relative_to(files).parts[0] != "converted"]
    assert all(len(p.name) == 64 for p in stored if p.parent.name != "tmp")  # stored by hash, never by name
    assert not (api_shop.server.data_dir.parent / "x.pdf").exists()
    d = api_shop.get(f"/queue/download/{r.json()['files'][2]['file_id']}")
    assert "filename*=utf-8''R%C3%A9sum%C3%A9" in d.headers["content-disposition"]


def test_a_file_over_20_mb_is_413(api_shop):
    big = pdf_bytes(1)[:-6] + b" " * (21 * 2**20) + b"%%EOF\n"
    r = api_shop.upload_response(("big.pdf", big))
    assert r.status_code == 413 and "20 MB" in r.json()["error"]


def test_a_request_over_100_mb_is_413_before_the_body_is_read(api_shop):
    host, port = "127.0.0.1", api_shop.server.port
    body_len = 101 * 2**20
    head = (f"POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
            f"Content-Length: {body_len}\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head + b"--XyZ\r\n")
        reply = b""
        while b"}" not in reply:  # the JSON body may come in its own packet
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        reply = reply.decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "100 MB" in reply


def test_unknown_shop_and_closed_shop(api_shop):
    r = api_shop.upload_response(("a.pdf", pdf_bytes(1)), shop_id=999999)
    assert r.status_code == 404 and "999999" in r.json()["error"]
    api_shop.post("/shop/status", who="owner", json={"is_open": False})
    r = api_shop.upload_response(("a.pdf", pdf_bytes(1)))
    assert r.status_code == 409 and "closed" in r.json()["error"]


def test_missing_file_and_wrong_content_type(api_shop):
    r = requests.post(api_shop.url + "/upload", data={"shop_id": api_shop.shop_id}, timeout=10)
    assert r.status_code == 400 and "multipart" in r.json()["error"]
    r = requests.post(api_shop.url + "/upload", files={"shop_id": (None, str(api_shop.shop_id))}, timeout=10)
    assert r.status_code == 400 and "no file" in r.json()["error"]


def test_calculate_cost_stores_nothing(api_shop):
    r = requests.post(api_shop.url + "/calculate-cost", timeout=10,
                      data={"copies": "3", "color_mode": "color", "shop_id": str(api_shop.shop_id)},
                      files=[("files[]", ("a.pdf", pdf_bytes(2)))])
    assert r.status_code == 200
    assert r.json(parse_float=Decimal) == {"files": [{"original_name": "a.pdf", "num_pages": 2,
                                                      "cost": Decimal("60.00")}], "total_cost": Decimal("60.00")}
    assert _queue_files(api_shop) == []


def test_upload_replay_with_idempotency_key_creates_one_order(api_shop):
    headers = {"Idempotency-Key": "upload-once-" + str(api_shop.shop_id)}
    data = pdf_bytes(1)  # a retry sends the very same file (a new one would be another request: 422)
    first = api_shop.upload_response(("a.pdf", data), headers=headers)
    again = api_shop.upload_response(("a.pdf", data), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(api_shop.get("/queue").json()) == 1


def test_job_status_and_qr_png_by_code(api_shop):
    f = api_shop.upload(pdf_bytes(1))["files"][0]
    s = requests.get(f"{api_shop.url}/file/{f['code']}/status", timeout=10).json()
    assert s["status"] == "uploaded" and s["queue_position"] == 1
    png = requests.get(f"{api_shop.url}/file/{f['code']}/qr.png", timeout=10)
    assert png.headers["content-type"] == "image/png"
    import cv2
    import numpy as np
    from pyzbar.pyzbar import decode

    img = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    # the payload opens the job's status page on a phone (no SHOPDESK_PUBLIC_URL: the request's own address)
    assert [d.data.decode() for d in decode(img)] == [f"{api_shop.url}/j/{f['code']}"]
    assert requests.get(f"{api_shop.url}/file/zzzzzz/status", timeout=10).status_code == 404
