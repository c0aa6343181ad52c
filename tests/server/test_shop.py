"""Open/closed, the heartbeat, the sweeper that closes silent shops and requeues stuck jobs, history."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import requests

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop, run_db


def test_owner_opens_and_closes_the_shop_and_heartbeat_is_recorded(api_shop):
    r = api_shop.post("/shop/status", who="owner", json={"is_open": False})
    assert r.status_code == 200 and r.json()["is_open"] is False
    r = api_shop.post("/shop/status", who="owner", json={"is_open": True})
    assert r.json()["is_open"] is True
    before = r.json()["last_heartbeat_at"]
    time.sleep(0.01)
    hb = api_shop.post("/shop/heartbeat")
    assert hb.status_code == 200 and hb.json()["last_heartbeat_at"] > before
    shop = api_shop.get("/shop").json()
    assert shop["name"] == api_shop.name and shop["heartbeat_limit_seconds"] == 180
    assert shop["public_url"] == api_shop.url  # no SHOPDESK_PUBLIC_URL: the address the counter uses
    assert {"color_mode": "color", "paper_size": "A3", "price": 20.0} in shop["prices"]
    assert api_shop.post("/shop/status", who="owner", json={"is_open": "maybe"}).status_code == 400


def test_sweeper_closes_a_silent_shop_and_requeues_its_stuck_jobs(tmp_path):
    env = {"SHOPDESK_SWEEP_INTERVAL_SECONDS": "1", "SHOPDESK_REQUEUE_AFTER_SECONDS": "2"}
    server = ServerProcess(tmp_path / "srv", env=env).start()
    try:
        shop = make_shop(server)
        from sqlalchemy import update

        from shopdesk.server.models import Shop

        async def short_limit(s):
            await s.execute(update(Shop).where(Shop.id == shop.shop_id).values(heartbeat_limit_seconds=1))

        run_db(server.db_url(), short_limit)
        f = shop.upload(pdf_bytes(1))["files"][0]
        assert shop.post(f"/queue/{f['file_id']}/print-started", json={"counter": "Counter 9"}).status_code == 200
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            job = shop.get(f"/file/{f['code']}").json()
            if job["status"] == "uploaded":
                break
            time.sleep(0.3)
        assert job["status"] == "uploaded"
        assert "no word from Counter 9" in job["last_failure"]
        assert shop.get("/shop").json()["is_open"] is False
        audit = shop.get(f"/file/{f['code']}/audit").json()
        assert audit[-1]["move"] == "requeue" and audit[-1]["actor"] == "system"
    finally:
        server.stop()


def test_history_lists_finished_jobs_newest_first_with_filters(api_shop):
    a = api_shop.upload(pdf_bytes(1), name="invoice-march.pdf", customer_name="Kiran")["files"][0]
    b = api_shop.upload(pdf_bytes(1), name="menu.pdf", customer_name="Leela")["files"][0]
    c = api_shop.upload(pdf_bytes(1), name="waiting.pdf")["files"][0]
    api_shop.post(f"/queue/{a['file_id']}/confirm")
    time.sleep(0.01)
    api_shop.post(f"/queue/{b['file_id']}/cancel", json={"reason": "customer asked"})
    h = api_shop.get("/shop/history").json()
    assert [j["code"] for j in h["jobs"]] == [b["code"], a["code"]] and h["total"] == 2
    assert c["code"] not in [j["code"] for j in h["jobs"]]
    assert [j["code"] for j in api_shop.get("/shop/history?search=INVOICE").json()["jobs"]] == [a["code"]]
    assert [j["code"] for j in api_shop.get("/shop/history?search=leela").json()["jobs"]] == [b["code"]]
    assert [j["code"] for j in api_shop.get("/shop/history?status=cancelled").json()["jobs"]] == [b["code"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api_shop.get("/shop/history", params={"from": future}).json()["total"] == 0
    assert api_shop.get("/shop/history", params={"to": future}).json()["total"] == 2
    assert api_shop.get("/shop/history?limit=1&offset=1").json()["jobs"][0]["code"] == a["code"]
    assert api_shop.get("/shop/history?status=printing").status_code == 400
    assert api_shop.get("/shop/history?from=yesterday").status_code == 400
    assert api_shop.get("/shop/history?to=0.5").status_code == 400  # not seconds since 1970 (schemathesis)


def test_healthz(api_server):
    r = requests.get(api_server.url + "/healthz", timeout=10)
    assert r.json() == {"status": "ok", "database": "ok", "version": r.json()["version"]}
