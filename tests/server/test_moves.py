"""The job state machine over HTTP: every move, its 409s, the audit trail and racing counters."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import requests

from tests.helpers.pdfs import pdf_bytes


def _upload(shop, pages=3, **settings):
    return shop.upload(pdf_bytes(pages), name="notes.pdf", **settings)["files"][0]


def test_print_started_then_confirm_moves_the_job_and_credits_the_shop(api_shop):
    f = _upload(api_shop, pages=3, copies=2)
    assert f["cost"] == 6.0 and f["num_pages"] == 3
    r = api_shop.post(f"/queue/{f['file_id']}/print-started", json={"printer": "Front", "counter": "Counter 1"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "printing" and r.json()["counter"] == "Counter 1"
    r = api_shop.post(f"/queue/{f['file_id']}/confirm")
    assert r.status_code == 200 and r.json()["status"] == "downloaded"
    # printed: the stored file is gone, and the owner sees the earning
    assert api_shop.get(f"/queue/download/{f['file_id']}").status_code == 404
    totals = api_shop.get("/shopkeeper/payouts", who="owner").json(parse_float=Decimal)["totals"]
    assert totals["unsettled"] == Decimal("6.00")
    moves = [(a["move"], a["from_status"], a["to_status"]) for a in api_shop.get(f"/file/{f['code']}/audit").json()]
    assert moves == [("print-started", "uploaded", "printing"), ("confirm", "printing", "downloaded")]


def test_a_late_print_failed_naming_another_counter_cannot_take_the_job_from_the_one_printing_it(api_shop):
    f = _upload(api_shop)
    fid = f["file_id"]
    assert api_shop.post(f"/queue/{fid}/print-started", json={"counter": "Counter 1"}).status_code == 200
    r = api_shop.post(f"/queue/{fid}/print-failed", json={"reason": "jam", "counter": "Counter 1"})
    assert r.status_code == 200 and r.json()["status"] == "uploaded"
    assert api_shop.post(f"/queue/{fid}/print-started", who="staff2", json={"counter": "Counter 2"}).status_code == 200
    # Counter 1's old report arrives late: Counter 2 keeps the job
    r = api_shop.post(f"/file/{f['code']}/print-failed", json={"reason": "lost contact", "counter": "Counter 1"})
    assert r.status_code == 409
    assert r.json()["error"] == ("Cannot report a failed print for this job: it is printing at Counter 2 now, "
                                 "not at Counter 1.")
    assert api_shop.get(f"/file/{f['code']}").json()["status"] == "printing"
    # without a counter (the wire contract's plain form) it is still accepted
    assert api_shop.post(f"/queue/{fid}/print-failed", json={"reason": "paper jam"}).status_code == 200


def test_second_counter_gets_409_when_job_already_printing(api_shop):
    f = _upload(api_shop)
    assert api_shop.post(f"/queue/{f['file_id']}/print-started", json={"counter": "Counter 1"}).status_code == 200
    r = api_shop.post(f"/queue/{f['file_id']}/print-started", who="staff2", json={"counter": "Counter 2"})
    assert r.status_code == 409
    assert "already printing at Counter 1" in r.json()["error"]


def test_print_failed_returns_the_job_to_the_queue_with_its_reason(api_shop):
    f = _upload(api_shop)
    api_shop.post(f"/queue/{f['file_id']}/print-started", json={"printer": "Back"})
    r = api_shop.post(f"/queue/{f['file_id']}/print-failed", json={"reason": "Printer 'Back' is out of paper"})
    assert r.status_code == 200
    assert r.json()["status"] == "uploaded" and r.json()["last_failure"] == "Printer 'Back' is out of paper"
    assert r.json()["attempts"] == 1
    # print-failed again, from uploaded: illegal
    r = api_shop.post(f"/queue/{f['file_id']}/print-failed", json={"reason": "x"})
    assert r.status_code == 409 and "still waiting" in r.json()["error"]


def test_confirm_from_uploaded_is_a_job_printed_by_hand(api_shop):
    f = _upload(api_shop)
    r = api_shop.post(f"/file/{f['code']}/confirm")
    assert r.status_code == 200 and r.json()["status"] == "downloaded"
    assert api_shop.post(f"/file/{f['code']}/confirm").status_code == 409


def test_moves_by_code_match_moves_by_id(api_shop):
    f = _upload(api_shop)
    r = api_shop.post(f"/file/{f['code']}/print-started", json={"printer": "P"})
    assert r.status_code == 200 and r.json()["file_id"] == f["file_id"]
    r = api_shop.post(f"/file/{f['code']}/print-failed", json={"reason": "jam"})
    assert r.json()["status"] == "uploaded"


def test_eight_counters_racing_print_started_get_exactly_one_winner(api_shop):
    f = _upload(api_shop)
    token = api_shop.token()
    barrier = threading.Barrier(8)
    codes: list[int] = []
    lock = threading.Lock()

    def race(i):
        with requests.Session() as sess:
            barrier.wait()
            r = sess.post(f"{api_shop.url}/queue/{f['file_id']}/print-started", timeout=30,
                          headers={"Authorization": f"Bearer {token}"}, json={"counter": f"Counter {i}"})
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [409] * 7
    audit = api_shop.get(f"/file/{f['code']}/audit").json()
    assert [a["move"] for a in audit] == ["print-started"]


def test_cancel_cancels_the_whole_order_and_refunds_once(api_shop):
    r = api_shop.upload_response(("a.pdf", pdf_bytes(2)), ("b.pdf", pdf_bytes(1)), copies=1)
    assert r.status_code == 200, r.text
    a, b = r.json()["files"]
    key = str(uuid.uuid4())
    r = api_shop.post(f"/queue/{a['file_id']}/cancel", json={"reason": "Printer out of order"},
                      headers={"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    assert sorted(j["code"] for j in r.json()["cancelled"]) == sorted([a["code"], b["code"]])
    assert r.json()["refunded"] == 3.0
    again = api_shop.post(f"/queue/{a['file_id']}/cancel", json={"reason": "Printer out of order"},
                          headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == r.json()
    other = api_shop.post(f"/queue/{a['file_id']}/cancel", json={"reason": "again"})
    assert other.status_code == 409
    status = requests.get(f"{api_shop.url}/file/{b['code']}/status", timeout=10).json()
    assert status["status"] == "cancelled" and status["cancel_reason"] == "Printer out of order"


def test_cancel_is_refused_while_a_file_of_the_order_is_printing(api_shop):
    r = api_shop.upload_response(("a.pdf", pdf_bytes(1)), ("b.pdf", pdf_bytes(1)))
    order_id = r.json()["order_id"]
    a, b = r.json()["files"]
    api_shop.post(f"/queue/{a['file_id']}/print-started", json={"counter": "Front desk"})
    r = api_shop.post(f"/queue/{b['file_id']}/cancel", json={"reason": "x"})
    assert r.status_code == 400 and "printing" in r.json()["error"]
    assert api_shop.get(f"/queue/{order_id}/files").json()[1]["status"] == "uploaded"


def test_customer_withdraws_with_the_code_but_not_while_printing(api_shop):
    f = _upload(api_shop)
    g = _upload(api_shop)
    api_shop.post(f"/queue/{g['file_id']}/print-started")
    assert requests.post(f"{api_shop.url}/withdraw/{g['code']}", timeout=10).status_code == 409
    r = requests.post(f"{api_shop.url}/withdraw/{f['code']}", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert requests.post(f"{api_shop.url}/withdraw/{f['code']}", timeout=10).status_code == 409


def test_idempotent_replay_of_print_failed_changes_nothing_again(api_shop):
    f = _upload(api_shop)
    api_shop.post(f"/queue/{f['file_id']}/print-started")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api_shop.post(f"/queue/{f['file_id']}/print-failed", json={"reason": "door open"}, headers=key)
    api_shop.post(f"/queue/{f['file_id']}/print-started")  # printing again
    replay = api_shop.post(f"/queue/{f['file_id']}/print-failed", json={"reason": "door open"}, headers=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert api_shop.get(f"/file/{f['code']}").json()["status"] == "printing"
    audit = api_shop.get(f"/file/{f['code']}/audit").json()
    assert [a["move"] for a in audit] == ["print-started", "print-failed", "print-started"]
    assert audit[1]["idempotency_key"] == key["Idempotency-Key"]


def test_same_key_on_a_different_route_is_refused(api_shop):
    f = _upload(api_shop)
    key = {"Idempotency-Key": "k-" + uuid.uuid4().hex}
    assert api_shop.post(f"/queue/{f['file_id']}/print-started", headers=key).status_code == 200
    r = api_shop.post(f"/queue/{f['file_id']}/confirm", headers=key)
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["error"]


def test_another_shops_job_is_forbidden(api_server, api_shop):
    from tests.helpers.server import make_shop

    other = make_shop(api_server)
    f = _upload(other)
    assert api_shop.post(f"/queue/{f['file_id']}/print-started").status_code == 403
    assert api_shop.get(f"/file/{f['code']}").status_code == 403
    assert api_shop.get(f"/queue/download/{f['file_id']}").status_code == 403
    assert api_shop.get(f"/queue/{f['file_id']}/files").status_code in (403, 404)
