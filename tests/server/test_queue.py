"""GET /queue: contents, ETag → 304, and the long-poll that wakes within a second of a change, also when
the change was made through another server process sharing the database."""

from __future__ import annotations

import threading
import time

import requests

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop


def test_queue_lists_waiting_orders_oldest_first_and_drops_finished_ones(api_shop):
    a = api_shop.upload(pdf_bytes(1), name="first.pdf")
    b = api_shop.upload(pdf_bytes(2), name="second.pdf")
    q = api_shop.get("/queue").json()
    assert [o["order_id"] for o in q] == [a["order_id"], b["order_id"]]
    assert q[0]["first_file_id"] == a["files"][0]["file_id"]
    api_shop.post(f"/queue/{a['files'][0]['file_id']}/confirm")
    assert [o["order_id"] for o in api_shop.get("/queue").json()] == [b["order_id"]]


def test_etag_gives_304_until_the_queue_changes(api_shop):
    r = api_shop.get("/queue")
    etag = r.headers["etag"]
    assert api_shop.get("/queue", headers={"If-None-Match": etag}).status_code == 304
    api_shop.upload(pdf_bytes(1))
    r2 = api_shop.get("/queue", headers={"If-None-Match": etag})
    assert r2.status_code == 200 and r2.headers["etag"] != etag and len(r2.json()) == 1


def _long_poll_wake(shop, upload_via) -> tuple[float, int]:
    etag = shop.get("/queue").headers["etag"]
    result = {}

    def poll():
        t0 = time.monotonic()
        r = shop.get("/queue?wait=10", headers={"If-None-Match": etag})
        result["status"], result["t"] = r.status_code, time.monotonic()
        result["t0"] = t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    t_upload = time.monotonic()
    upload_via()
    th.join(15)
    return result["t"] - t_upload, result["status"]


def test_long_poll_wakes_within_a_second_of_an_upload(api_shop):
    delay, status = _long_poll_wake(api_shop, lambda: api_shop.upload(pdf_bytes(1)))
    assert status == 200  # woken by the upload: a hold that ran out would answer 304 after 10 s


def test_long_poll_times_out_with_304(api_shop):
    etag = api_shop.get("/queue").headers["etag"]
    r = api_shop.get("/queue?wait=1", headers={"If-None-Match": etag})
    assert r.status_code == 304


def test_long_poll_wakes_for_a_change_made_by_another_server_process(api_server, tmp_path):
    second = ServerProcess(tmp_path / "second", database_url=api_server.database_url)
    second.data_dir = api_server.data_dir  # same files, same database
    second.log_path = tmp_path / "second.log"
    second.start()
    try:
        shop = make_shop(api_server)
        other = shop.through(second)
        delay, status = _long_poll_wake(shop, lambda: other.upload(pdf_bytes(1)))
        assert status == 200  # woken by the upload: a hold that ran out would answer 304 after 10 s
    finally:
        second.stop()


def test_wait_is_bounded(api_shop):
    r = api_shop.get("/queue?wait=31")
    assert r.status_code == 400 and "wait" in r.json()["error"]
    r = api_shop.get("/queue?wait=abc")
    assert r.status_code == 400


def test_order_files_route(api_shop):
    r = api_shop.upload_response(("a.pdf", pdf_bytes(1)), ("b.pdf", pdf_bytes(3)))
    files = api_shop.get(f"/queue/{r.json()['order_id']}/files").json()
    assert [f["num_pages"] for f in files] == [1, 3]
    assert api_shop.get("/queue/99999999/files").status_code == 404


def test_job_by_code_for_staff_includes_its_order(api_shop):
    up = api_shop.upload(pdf_bytes(2), name="scan-me.pdf", customer_name="Ravi")
    code = up["files"][0]["code"]
    j = api_shop.get(f"/file/{code}").json()
    assert j["original_name"] == "scan-me.pdf" and j["customer_name"] == "Ravi"
    assert j["order"]["order_id"] == up["order_id"]
    assert api_shop.get("/file/ZZZZZ9").status_code == 404
    assert requests.get(f"{api_shop.url}/file/{code}", timeout=10).status_code == 401
